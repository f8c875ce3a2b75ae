package dev.tessera.coordinator.scheduler;

import dev.tessera.proto.v1.SampledToken;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.Set;

/**
 * Continuous batching for one replica: decides, step by step, which sequences compute which tokens, and owns the
 * replica's KV blocks. Pure: no I/O and no threads; the engine loop calls {@link #schedule} and feeds each step's
 * sampled tokens to {@link #update}.
 *
 * <p>Policy (vLLM v1's, with pipelining):
 * <ul>
 *   <li>Running sequences are scheduled before waiting ones, oldest first, each up to the step's token budget.</li>
 *   <li>A sequence is never in two steps in flight: with S stages the engine keeps up to S steps in flight, filled
 *       by different sequences.</li>
 *   <li>When a running sequence needs a block and none is free, the running sequence with the highest priority value
 *       (newest among equals) is preempted: its blocks are freed and it goes back to waiting, to be recomputed from
 *       its known tokens (prompt and completion so far).</li>
 *   <li>Waiting sequences are admitted by priority, then arrival, only in steps without a preemption. One that does
 *       not fit may be passed over by later ones at most {@code maxSkips} times; after that admission waits for it.</li>
 * </ul>
 */
public final class Scheduler {

    private static final Comparator<Sequence> ADMISSION_ORDER =
            Comparator.comparingInt(Sequence::priority).thenComparingLong(Sequence::arrival);

    private final SchedulerConfig config;
    private final KvBlocks kv;
    private final PriorityQueue<Sequence> waiting = new PriorityQueue<>(ADMISSION_ORDER);
    private final List<Sequence> running = new ArrayList<>();   // admission order
    private final Set<Long> finishedIds = new LinkedHashSet<>(); // to send with the next step
    private long nextStep = 1;
    private long preemptionsTotal;

    public Scheduler(SchedulerConfig config) {
        this.config = config;
        this.kv = new KvBlocks(config.kvBlocks(), config.kvBlockSize());
    }

    public SchedulerConfig config() { return config; }

    public KvBlocks kv() { return kv; }

    public int waiting() { return waiting.size(); }

    public int running() { return running.size(); }

    public boolean hasWork() { return !waiting.isEmpty() || !running.isEmpty() || !finishedIds.isEmpty(); }

    public long preemptionsTotal() { return preemptionsTotal; }

    /** Whether a sequence of this size can ever run here (its whole context fits the KV pool and the model). */
    public boolean fits(int promptTokens, int maxCompletionTokens) {
        long total = (long) promptTokens + maxCompletionTokens;
        return total <= config.kvTokens() && total <= config.maxContextTokens();
    }

    /** Most sequences this replica holds at once, running or waiting. */
    public int capacity() { return config.maxRunning() + config.maxWaiting(); }

    /** Whether {@link #add} will take another sequence now. */
    public boolean canAdd() { return running.size() + waiting.size() < capacity(); }

    /** Queues a new (or moved) sequence; it recomputes every known token when admitted. */
    public void add(Sequence seq) {
        if (!canAdd()) throw new IllegalStateException("replica full: " + capacity() + " sequences running or waiting");
        if (seq.state != Sequence.State.WAITING) throw new IllegalArgumentException(seq + " is not new");
        waiting.add(seq);
    }

    /**
     * Picks the next step: tokens for running sequences first, then admissions. Returns null when there is nothing
     * to send (no schedulable sequence and no finished id to deliver).
     */
    public StepBatch schedule() {
        int budget = config.maxBatchTokens();
        List<ScheduledChunk> chunks = new ArrayList<>();
        boolean preempted = false;

        for (int i = 0; i < running.size() && budget > 0; i++) {
            Sequence seq = running.get(i);
            if (seq.inFlight) continue;
            int n = Math.min(seq.numTokens() - seq.numComputedTokens, budget);
            if (n <= 0) continue;
            // Find room, preempting from the back of the line; the sequence may end up preempting itself.
            while (!kv.canAllocate(seq, seq.numComputedTokens + n)) {
                Sequence victim = victim();
                preempt(victim);
                preempted = true;
                // A victim already given tokens in this step loses them: its freed blocks may go to seq right now.
                for (Iterator<ScheduledChunk> it = chunks.iterator(); it.hasNext(); ) {
                    ScheduledChunk c = it.next();
                    if (c.seq() == victim) { it.remove(); budget += c.length(); }
                }
                if (victim == seq) break;
            }
            if (seq.state != Sequence.State.RUNNING) { i--; continue; } // it was the victim; the list shifted
            i = running.indexOf(seq); // victims before it shift its index
            chunks.add(chunk(seq, n));
            budget -= n;
        }

        // NOTE: no admission in a step that preempted: the pool is short, and admitting would only preempt again.
        if (!preempted) {
            List<Sequence> passedOver = new ArrayList<>();
            while (!waiting.isEmpty() && budget > 0 && running.size() < config.maxRunning()) {
                Sequence seq = waiting.poll();
                int n = Math.min(seq.numTokens() - seq.numComputedTokens, budget);
                if (!kv.canAllocate(seq, seq.numComputedTokens + n)) {
                    passedOver.add(seq);
                    // NOTE: bounded starvation: a long prompt that does not fit yet lets shorter ones behind it in,
                    // but only maxSkips times; then nothing is admitted until it fits.
                    if (seq.skips >= config.maxSkips()) break;
                    continue;
                }
                seq.state = Sequence.State.RUNNING;
                running.add(seq);
                chunks.add(chunk(seq, n));
                budget -= n;
                for (Sequence passed : passedOver) passed.skips++; // each was just passed by a later arrival
            }
            waiting.addAll(passedOver);
        }

        if (chunks.isEmpty() && finishedIds.isEmpty()) return null;
        List<Long> finished = new ArrayList<>();
        for (long id : finishedIds) if (chunks.stream().noneMatch(c -> c.seq().id() == id)) finished.add(id);
        finishedIds.clear();
        return new StepBatch(nextStep++, chunks, finished);
    }

    private ScheduledChunk chunk(Sequence seq, int n) {
        int start = seq.numComputedTokens;
        kv.allocate(seq, start + n);
        int[] tokens = new int[n];
        for (int t = 0; t < n; t++) tokens[t] = seq.token(start + t);
        boolean whole = seq.sendWhole;
        int from = whole ? 0 : seq.sentBlocks;
        int[] blocks = seq.blockTable().subList(from, seq.blockTable().size()).stream().mapToInt(Integer::intValue).toArray();
        seq.sentBlocks = seq.blockTable().size();
        seq.sendWhole = false;
        seq.inFlight = true;
        boolean sample = start + n == seq.numTokens();
        return new ScheduledChunk(seq, seq.generation, start, tokens, blocks, whole, sample,
                sample ? seq.numCompletionTokens() : 0);
    }

    /** The running sequence to preempt: highest priority value, newest among equals. */
    private Sequence victim() {
        Sequence victim = null;
        for (Sequence s : running)
            if (victim == null || s.priority() > victim.priority()
                    || (s.priority() == victim.priority() && s.arrival() > victim.arrival())) victim = s;
        return victim;
    }

    private void preempt(Sequence seq) {
        running.remove(seq);
        kv.free(seq);
        seq.resetForRecompute();
        seq.state = Sequence.State.WAITING;
        seq.preemptions++;
        preemptionsTotal++;
        finishedIds.add(seq.id());
        waiting.add(seq);
    }

    /** What a step's result did to one sequence. */
    public record Update(Sequence seq, SampledToken token, Finish finish) {}

    /**
     * Applies a step's result: every chunk's tokens are now computed, and each sampled token is appended to its
     * sequence and checked against the stop tokens and limits. Results for sequences finished or restarted since the
     * step was scheduled are dropped. Returns one update per appended token, in step order.
     */
    public List<Update> update(StepBatch batch, List<SampledToken> sampled) {
        Map<Long, SampledToken> bySeq = new HashMap<>();
        for (SampledToken t : sampled) bySeq.put(t.getSeqId(), t);
        List<Update> updates = new ArrayList<>();
        for (ScheduledChunk c : batch.chunks()) {
            Sequence seq = c.seq();
            if (seq.generation != c.generation() || seq.state != Sequence.State.RUNNING) continue;
            seq.inFlight = false;
            seq.numComputedTokens = c.start() + c.length();
            if (!c.sample()) continue;
            SampledToken token = bySeq.get(seq.id());
            if (token == null) throw new IllegalStateException("step " + batch.step() + " returned no token for " + seq);
            seq.append(token.getTokenId());
            Finish finish = null;
            if (seq.isStopToken(token.getTokenId())) {
                finish = Finish.STOP;
                seq.stopTokenId = token.getTokenId();
            } else if (seq.numCompletionTokens() >= seq.maxCompletionTokens() || seq.numTokens() >= config.maxContextTokens()) {
                finish = Finish.LENGTH;
            }
            if (finish != null) finish(seq, finish);
            updates.add(new Update(seq, token, finish));
        }
        return updates;
    }

    /** Ends a sequence (stop, cancel, error): frees its blocks now and tells the stages with the next step. */
    public void finish(Sequence seq, Finish reason) {
        if (seq.state == Sequence.State.FINISHED) return;
        if (seq.state == Sequence.State.RUNNING) running.remove(seq);
        else waiting.remove(seq);
        kv.free(seq);
        seq.state = Sequence.State.FINISHED;
        seq.finish = reason;
        seq.inFlight = false;
        finishedIds.add(seq.id());
    }

    /**
     * Sends a sequence back to recompute its known tokens (after a failed step left its KV undefined). It keeps its
     * place in line: it goes back to waiting, ahead of newer arrivals of its priority.
     */
    public void restart(Sequence seq) {
        if (seq.state != Sequence.State.RUNNING) return;
        running.remove(seq);
        kv.free(seq);
        seq.resetForRecompute();
        seq.state = Sequence.State.WAITING;
        finishedIds.add(seq.id());
        waiting.add(seq);
    }

    /**
     * Removes every live sequence (the replica is gone): their blocks are void. The caller moves them elsewhere as
     * new sequences built from their known tokens.
     */
    public List<Sequence> drain() {
        List<Sequence> live = new ArrayList<>(running);
        for (Iterator<Sequence> it = waiting.iterator(); it.hasNext(); ) live.add(it.next());
        live.sort(ADMISSION_ORDER);
        for (Sequence s : live) {
            kv.free(s);
            s.state = Sequence.State.FINISHED;
            s.inFlight = false;
        }
        running.clear();
        waiting.clear();
        finishedIds.clear();
        return live;
    }
}
