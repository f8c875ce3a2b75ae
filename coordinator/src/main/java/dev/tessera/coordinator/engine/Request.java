package dev.tessera.coordinator.engine;

import dev.tessera.coordinator.scheduler.Finish;
import dev.tessera.proto.v1.SamplingParams;
import java.util.Arrays;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * One generation request as the coordinator tracks it across replicas: its prompt, parameters, the completion
 * tokens already streamed to the client, and timings. The completion tokens are what makes recovery exact: a
 * request moved off a lost replica restarts from its prompt plus these tokens, so the client sees no token twice
 * and none missing.
 *
 * <p>Threads: created by the gRPC handler; afterwards owned by the engine loop of the replica it is on, and handed
 * between loops through their inboxes (which orders the writes).
 */
public final class Request {

    private final String id;
    private final String model;
    private final int[] prompt;
    private final int maxCompletionTokens;
    private final int[] stopTokenIds;
    private final SamplingParams sampling;
    private final int priority;
    private final long arrival;
    private final long deadlineNanos;
    private final TokenSink sink;
    private final AtomicBoolean done = new AtomicBoolean();
    private int[] completion = new int[16];
    private int completionLength;
    final long arrivalNanos = System.nanoTime();
    long firstScheduledNanos;
    long firstTokenNanos;
    int preemptions;
    int moves;
    volatile EngineLoop currentLoop;
    long pendingSince;   // when it last started waiting for a replica (ReplicaSet's lock)
    private volatile Finish requestedFinish;

    /**
     * @param model         the model it must run on (replicas of other models never take it)
     * @param deadlineNanos {@link System#nanoTime()} by which it must be done, or {@code Long.MAX_VALUE}
     */
    public Request(String id, String model, int[] prompt, int maxCompletionTokens, int[] stopTokenIds,
                   SamplingParams sampling, int priority, long arrival, long deadlineNanos, TokenSink sink) {
        this.id = id;
        this.model = model;
        this.prompt = prompt.clone();
        this.maxCompletionTokens = maxCompletionTokens;
        this.stopTokenIds = stopTokenIds.clone();
        this.sampling = sampling;
        this.priority = priority;
        this.arrival = arrival;
        this.deadlineNanos = deadlineNanos;
        this.sink = sink;
    }

    public String id() { return id; }

    public String model() { return model; }

    public int[] prompt() { return prompt.clone(); }

    /** Positions it may occupy at most: prompt plus every completion token it may generate. */
    public long maxPositions() { return (long) prompt.length + maxCompletionTokens; }

    public int promptLength() { return prompt.length; }

    public int maxCompletionTokens() { return maxCompletionTokens; }

    public int[] stopTokenIds() { return stopTokenIds.clone(); }

    public SamplingParams sampling() { return sampling; }

    public int priority() { return priority; }

    public long arrival() { return arrival; }

    public long deadlineNanos() { return deadlineNanos; }

    TokenSink sink() { return sink; }

    public int completionLength() { return completionLength; }

    /** Prompt followed by the completion tokens streamed so far: what a restart recomputes. */
    int[] knownTokens() {
        int[] all = Arrays.copyOf(prompt, prompt.length + completionLength);
        System.arraycopy(completion, 0, all, prompt.length, completionLength);
        return all;
    }

    void appendCompletion(int token) {
        if (completionLength == completion.length) completion = Arrays.copyOf(completion, completionLength * 2);
        completion[completionLength++] = token;
    }

    private volatile Runnable onDone = () -> { };

    /** Runs once when the request is done (admission accounting). */
    void onDone(Runnable action) { this.onDone = action; }

    /** Marks the request done; true for the one caller that did it. */
    boolean markDone() {
        if (!done.compareAndSet(false, true)) return false;
        onDone.run();
        return true;
    }

    public boolean isDone() { return done.get(); }

    /**
     * Asks for the request to end (cancel, stop string). Recorded on the request first, so a request in transit
     * between replicas is ended when it arrives; then sent to the loop that has it.
     */
    public void requestFinish(Finish finish) {
        if (requestedFinish == null) requestedFinish = finish;
        EngineLoop loop = currentLoop;
        if (loop != null) loop.end(this, finish);
    }

    Finish requestedFinish() { return requestedFinish; }

    /** {@link System#nanoTime()} when it was created (its arrival); the origin of its latencies. */
    public long arrivalNanos() { return arrivalNanos; }

    /** From arrival to its first scheduled step; 0 while it has none. */
    public long queueNanos() { return firstScheduledNanos == 0 ? 0 : firstScheduledNanos - arrivalNanos; }

    public long timeToFirstTokenNanos() { return firstTokenNanos == 0 ? 0 : firstTokenNanos - arrivalNanos; }

    public long ageNanos() { return System.nanoTime() - arrivalNanos; }

    /** Recomputations it cost: preemptions on a replica and moves off failed ones (Usage.preemptions). */
    public int preemptions() { return preemptions + moves; }

    @Override
    public String toString() { return "request " + id; }
}
