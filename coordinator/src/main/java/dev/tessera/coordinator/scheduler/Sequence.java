package dev.tessera.coordinator.scheduler;

import dev.tessera.proto.v1.SamplingParams;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * One request's scheduling state on a replica: every known token (prompt, then completion), how many of them every
 * stage already holds in KV ({@link #numComputedTokens}), and the sequence's KV block table.
 *
 * <p>One rule covers prefill, chunked prefill, decode and recompute (vLLM's): the scheduler gives a sequence the
 * tokens from {@code numComputedTokens} up to {@link #numTokens}, as many as the step's budget allows. A decode
 * step is the case where exactly one token (the one sampled last) is not computed yet.
 *
 * <p>Owned by one replica's scheduler thread; not thread-safe.
 */
public final class Sequence {

    /** Where a sequence is in its life. */
    public enum State { WAITING, RUNNING, FINISHED }

    private final long id;
    private final int priority;
    private final long arrival;
    private final int promptLength;
    private final int maxCompletionTokens;
    private final int[] stopTokenIds;   // sorted
    private final SamplingParams sampling;
    private int[] tokens;
    private int numTokens;
    private final List<Integer> blockTable = new ArrayList<>();

    int numComputedTokens;
    int sentBlocks;           // how many leading entries of blockTable the stages already have
    boolean sendWhole = true; // next chunk carries new_sequence: the whole table and the sampling parameters
    boolean inFlight;
    int generation;           // bumped on every restart, so results of steps sent before it are ignored
    int skips;
    int preemptions;
    State state = State.WAITING;
    Finish finish;
    int stopTokenId = -1;

    /**
     * @param tokens              every known token: the prompt, followed by completion tokens already generated (a
     *                            sequence moved from a lost replica carries them, and they are recomputed, not resampled)
     * @param promptLength        how many of {@code tokens} are the prompt
     * @param maxCompletionTokens completion tokens after which the sequence ends with LENGTH
     * @param stopTokenIds        sampled ids that end the sequence with STOP; empty for none
     * @param arrival             first-come-first-served order among equal priorities (smaller is older)
     */
    public Sequence(long id, int[] tokens, int promptLength, int maxCompletionTokens, int[] stopTokenIds,
                    SamplingParams sampling, int priority, long arrival) {
        if (promptLength < 1 || promptLength > tokens.length)
            throw new IllegalArgumentException("sequence " + id + ": prompt length " + promptLength + " of " + tokens.length + " tokens");
        if (maxCompletionTokens < 1) throw new IllegalArgumentException("sequence " + id + ": max tokens must be >= 1");
        this.id = id;
        this.tokens = Arrays.copyOf(tokens, Math.max(tokens.length + 16, 32));
        this.numTokens = tokens.length;
        this.promptLength = promptLength;
        this.maxCompletionTokens = maxCompletionTokens;
        this.stopTokenIds = stopTokenIds.clone();
        Arrays.sort(this.stopTokenIds);
        this.sampling = sampling;
        this.priority = priority;
        this.arrival = arrival;
    }

    public long id() { return id; }

    public int priority() { return priority; }

    public long arrival() { return arrival; }

    public int promptLength() { return promptLength; }

    public int maxCompletionTokens() { return maxCompletionTokens; }

    public SamplingParams sampling() { return sampling; }

    public int numTokens() { return numTokens; }

    public int numCompletionTokens() { return numTokens - promptLength; }

    public int numComputedTokens() { return numComputedTokens; }

    public int token(int index) { return tokens[index]; }

    /** Every known token, prompt first. */
    public int[] tokens() { return Arrays.copyOf(tokens, numTokens); }

    /** The completion tokens so far. */
    public int[] completionTokens() { return Arrays.copyOfRange(tokens, promptLength, numTokens); }

    public List<Integer> blockTable() { return blockTable; }

    public State state() { return state; }

    public boolean isFinished() { return state == State.FINISHED; }

    public boolean inFlight() { return inFlight; }

    /** Why it finished; null while it runs. */
    public Finish finish() { return finish; }

    /** The stop token that ended it, or -1. */
    public int stopTokenId() { return stopTokenId; }

    public int preemptions() { return preemptions; }

    /** How often it was restarted (preempted or failed); a chunk scheduled before a restart is void. */
    public int generation() { return generation; }

    boolean isStopToken(int token) { return Arrays.binarySearch(stopTokenIds, token) >= 0; }

    void append(int token) {
        if (numTokens == tokens.length) tokens = Arrays.copyOf(tokens, tokens.length * 2);
        tokens[numTokens++] = token;
    }

    /** Forgets everything the stages hold for it: the next chunk recomputes from position 0 with a whole table. */
    void resetForRecompute() {
        numComputedTokens = 0;
        sentBlocks = 0;
        sendWhole = true;
        inFlight = false;
        generation++;
    }

    @Override
    public String toString() {
        return "seq " + id + " (" + state + ", " + numComputedTokens + "/" + numTokens + " tokens computed, "
                + blockTable.size() + " blocks)";
    }
}
