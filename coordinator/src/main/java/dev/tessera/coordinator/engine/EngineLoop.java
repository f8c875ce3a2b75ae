package dev.tessera.coordinator.engine;

import dev.tessera.coordinator.scheduler.Finish;
import dev.tessera.coordinator.scheduler.ScheduledChunk;
import dev.tessera.coordinator.scheduler.Scheduler;
import dev.tessera.coordinator.scheduler.SchedulerConfig;
import dev.tessera.coordinator.scheduler.Sequence;
import dev.tessera.coordinator.scheduler.StepBatch;
import dev.tessera.proto.v1.StepErrorCode;
import dev.tessera.proto.v1.StepOutput;
import io.grpc.Channel;
import io.grpc.Status;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One replica's engine: a thread that runs schedule, send, collect, update, emit (design.md) until the replica is
 * stopped or lost. Everything about the replica's sequences happens on this thread; other threads talk to it only
 * through its inbox (new requests, cancellations, step outputs, the stream's end).
 *
 * <p>Up to S steps are in flight for S stages, so every stage has work; the scheduler keeps each sequence in at
 * most one of them. When the pipeline fails, every live request is handed back to the {@link Owner} with its known
 * tokens, to be re-run elsewhere.
 */
public final class EngineLoop implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(EngineLoop.class);
    /** Step failures a sequence survives (each one recomputes it) before it ends with an error. */
    private static final int MAX_STEP_FAILURES = 3;

    /** Told when the loop ends, on the loop's thread. */
    public interface Owner {
        /** The loop ended; {@code live} are its unfinished requests, to be moved. */
        void onLoopEnded(EngineLoop loop, List<Request> live, String why);

        /** A request left the loop, so it has room for another. */
        void onRoom(EngineLoop loop);
    }

    private sealed interface Command {}
    private record Submit(Request request) implements Command {}
    private record End(Request request, Finish finish) implements Command {}
    private record Output(StepOutput output) implements Command {}
    private record Closed(Status status) implements Command {}
    private record Stop(String why) implements Command {}

    private final ReplicaRoute route;
    private final long epoch;
    private final Scheduler scheduler;
    private final Channel stage0;
    private final Owner owner;
    private final AtomicLong seqIds;
    // NOTE: unbounded in type, bounded in use: requests pass admission control first (waiting-queue limit), and
    // outputs are at most one per in-flight step.
    private final LinkedBlockingQueue<Command> inbox = new LinkedBlockingQueue<>();
    private final ArrayDeque<StepBatch> inFlight = new ArrayDeque<>();
    private final ArrayDeque<Long> sentAt = new ArrayDeque<>();   // System.nanoTime() of each in-flight step's send
    private final long stepTimeoutNanos;
    private final Map<Long, Request> bySeq = new HashMap<>();
    private final Map<Request, Sequence> byRequest = new IdentityHashMap<>();
    private final Map<Request, Integer> stepFailures = new IdentityHashMap<>();
    private final Thread thread;
    // Requests handed to this loop and not yet finished or handed back: the replica set routes only while
    // assigned < capacity, so Scheduler.add never overflows.
    private final AtomicInteger assigned = new AtomicInteger();
    private volatile long stepsCompleted;
    private volatile boolean stopped;
    private volatile LoadStats stats = new LoadStats(0, 0, 0, 1);
    private StagePipeline pipeline;

    /** A snapshot of the replica's load, for routing and metrics. */
    public record LoadStats(int waiting, int running, int kvBlocksUsed, int kvBlocks) {
        public double kvUsage() { return (double) kvBlocksUsed / kvBlocks; }
    }

    /**
     * @param stepTimeout how long a step may take to come back before the replica is given up (a stage that hangs
     *                    must not hang its requests: they move to another replica)
     */
    public EngineLoop(ReplicaRoute route, long epoch, SchedulerConfig config, java.time.Duration stepTimeout, Channel stage0,
                      AtomicLong seqIds, Owner owner) {
        this.route = route;
        this.stepTimeoutNanos = stepTimeout.toNanos();
        this.epoch = epoch;
        this.scheduler = new Scheduler(config);
        this.stage0 = stage0;
        this.seqIds = seqIds;
        this.owner = owner;
        this.stats = new LoadStats(0, 0, 0, config.kvBlocks());
        this.thread = Thread.ofPlatform().name("engine-" + route.replicaId()).daemon().unstarted(this::run);
    }

    public ReplicaRoute route() { return route; }

    public SchedulerConfig config() { return scheduler.config(); }

    public LoadStats stats() { return stats; }

    public boolean isRunning() { return !stopped; }

    /** Whether this replica serves the request's model and can hold its whole context. */
    public boolean canServe(Request r) {
        return r.model().equals(route.model()) && r.maxPositions() <= scheduler.config().kvTokens()
                && r.maxPositions() <= scheduler.config().maxContextTokens();
    }

    /** Requests handed to this loop and not yet finished or handed back. */
    public int assigned() { return assigned.get(); }

    /** Whether it has room for one more request (running and waiting sequences below the scheduler's capacity). */
    public boolean hasRoom() { return assigned.get() < scheduler.capacity(); }

    /** Steps whose output came back; 0 means the pipeline never worked. */
    public long stepsCompleted() { return stepsCompleted; }

    public void start() { thread.start(); }

    /**
     * Hands a request to this replica. False if the loop has stopped (the request was not taken). A request taken
     * by a loop that stops later comes back through {@link Owner#onLoopEnded}.
     */
    public boolean submit(Request request) {
        if (assigned.incrementAndGet() > scheduler.capacity()) {
            assigned.decrementAndGet();
            return false;
        }
        Submit command = new Submit(request);
        inbox.add(command);
        // NOTE: the loop sets `stopped` before its final drain of the inbox; if we see it set now, either that drain
        // took our command (remove fails: the request comes back through the owner) or it did not (we take it back).
        if (stopped && inbox.remove(command)) {
            assigned.decrementAndGet();
            return false;
        }
        return true;
    }

    /** Ends a request (cancel, stop string). Idempotent; ignored if the request is not here. */
    public void end(Request request, Finish finish) { inbox.add(new End(request, finish)); }

    /** Stops the loop; its live requests go to the owner to be moved. */
    public void stop(String why) { inbox.add(new Stop(why)); }

    @Override
    public void close() {
        stop("closed");
        try {
            thread.join(5_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private void run() {
        String why = "stopped";
        try {
            pipeline = new StagePipeline(stage0, route, epoch, new StagePipeline.Listener() {
                @Override public void onStepOutput(StepOutput output) { inbox.add(new Output(output)); }
                @Override public void onClosed(Status status) { inbox.add(new Closed(status)); }
            });
            log.info("replica {} serving at epoch {}", route, epoch);
            boolean idle = true;
            while (true) {
                Command c = idle ? inbox.poll(50, TimeUnit.MILLISECONDS) : inbox.poll();
                String end = null;
                while (c != null && end == null) {
                    end = handle(c);
                    c = end == null ? inbox.poll() : null;
                }
                if (end == null) end = overdue();
                if (end != null) { why = end; break; }
                idle = true;
                while (inFlight.size() < route.depth()) {
                    StepBatch batch = scheduler.schedule();
                    if (batch == null) break;
                    send(batch);
                    idle = false;
                }
                stats = new LoadStats(scheduler.waiting(), scheduler.running(), scheduler.kv().usedBlocks(), scheduler.kv().capacity());
            }
        } catch (Throwable t) {
            why = "engine loop failed: " + t;
            log.error("replica {}: {}", route.replicaId(), why, t);
        } finally {
            terminate(why);
        }
    }

    /** Handles one command; returns a reason when the loop must end. */
    private String handle(Command c) {
        switch (c) {
            case Submit(Request r) -> {
                try {
                    admit(r);
                } catch (RuntimeException e) {
                    // NOTE: one bad request must not take the replica down with every other request on it.
                    log.error("replica {}: cannot admit {}: {}", route.replicaId(), r, e.toString(), e);
                    Sequence seq = byRequest.get(r);
                    if (seq != null) scheduler.finish(seq, Finish.ERROR);
                    finishRequest(r, seq, Finish.ERROR, -1, "the coordinator could not schedule the request: " + e.getMessage());
                }
            }
            case End(Request r, Finish f) -> {
                Sequence seq = byRequest.get(r);
                if (seq != null) {
                    scheduler.finish(seq, f);
                    finishRequest(r, seq, f, -1, null);
                }
            }
            case Output(StepOutput out) -> { return collect(out); }
            case Closed(Status status) -> {
                return "pipeline stream to " + route.stages().getFirst().getWorkerId() + " ended: " + status.getCode()
                        + (status.getDescription() == null ? "" : " " + status.getDescription());
            }
            case Stop(String why) -> { return why; }
        }
        return null;
    }

    private void admit(Request r) {
        // NOTE: publish this loop before reading the finish flag; requestFinish() writes the flag before reading the
        // loop. With both volatile, a concurrent cancel is seen by one side or the other, never lost.
        r.currentLoop = this;
        if (r.requestedFinish() != null) {
            finishRequest(r, null, r.requestedFinish(), -1, null);
            return;
        }
        int[] known = r.knownTokens();
        int remaining = r.maxCompletionTokens() - r.completionLength();
        if (!scheduler.fits(known.length, remaining)) { // the replica set routes only where it fits; kept as a guard
            finishRequest(r, null, Finish.ERROR, -1, "prompt of " + r.promptLength() + " tokens plus " + remaining
                    + " completion tokens does not fit replica " + route.replicaId() + "'s KV cache of "
                    + scheduler.config().kvTokens() + " tokens");
            return;
        }
        Sequence seq = new Sequence(seqIds.incrementAndGet(), known, r.promptLength(), r.maxCompletionTokens(),
                r.stopTokenIds(), r.sampling(), r.priority(), r.arrival());
        bySeq.put(seq.id(), r);
        byRequest.put(r, seq);
        scheduler.add(seq);
    }

    private void send(StepBatch batch) {
        long now = System.nanoTime();
        for (ScheduledChunk c : batch.chunks()) {
            Request r = bySeq.get(c.seq().id());
            if (r != null && r.firstScheduledNanos == 0) r.firstScheduledNanos = now;
        }
        pipeline.send(batch);
        inFlight.add(batch);
        sentAt.add(now);
    }

    /** Why the replica must be given up because its oldest step is overdue, or null. */
    private String overdue() {
        Long oldest = sentAt.peek();
        if (oldest == null || System.nanoTime() - oldest < stepTimeoutNanos) return null;
        return "step " + inFlight.peek().step() + " did not come back within " + (stepTimeoutNanos / 1_000_000) + " ms";
    }

    /** Applies a step's output; returns a reason when the replica must be given up. */
    private String collect(StepOutput out) {
        StepBatch batch = inFlight.poll();
        sentAt.poll();
        if (batch == null || batch.step() != out.getStep())
            return "replica returned step " + out.getStep() + " but step " + (batch == null ? "none" : batch.step()) + " was next";
        stepsCompleted++;
        if (out.hasError()) {
            log.warn("replica {}: step {} ({} sequences, {} tokens) failed on {}: {} {}", route.replicaId(), batch.step(),
                    batch.chunks().size(), batch.tokens(), out.getError().getWorkerId(), out.getError().getCode(),
                    out.getError().getMessage());
            if (out.getError().getCode() == StepErrorCode.STEP_ERROR_CODE_INTERNAL)
                return "stage " + out.getError().getWorkerId() + " failed: " + out.getError().getMessage();
            for (ScheduledChunk c : batch.chunks()) {
                Request r = bySeq.get(c.seq().id());
                // A chunk of an earlier attempt (the sequence was preempted or restarted since) says nothing of this one.
                if (r == null || c.seq().isFinished() || c.generation() != c.seq().generation()) continue;
                int failures = stepFailures.merge(r, 1, Integer::sum);
                if (failures >= MAX_STEP_FAILURES) {
                    scheduler.finish(c.seq(), Finish.ERROR);
                    finishRequest(r, c.seq(), Finish.ERROR, -1, "step failed " + failures + " times: " + out.getError().getMessage());
                } else {
                    scheduler.restart(c.seq());
                }
            }
            return null;
        }
        long now = System.nanoTime();
        for (Scheduler.Update u : scheduler.update(batch, out.getTokensList())) {
            Request r = bySeq.get(u.seq().id());
            if (r == null) continue;
            r.appendCompletion(u.token().getTokenId());
            if (r.firstTokenNanos == 0) r.firstTokenNanos = now;
            if (!r.isDone()) r.sink().onToken(u.token(), r.completionLength() - 1);
            if (u.finish() != null) finishRequest(r, u.seq(), u.finish(), u.seq().stopTokenId(), null);
        }
        return null;
    }

    /** Ends a request here: forgets it, frees its place, tells its sink. {@code seq} is null if never admitted. */
    private void finishRequest(Request r, Sequence seq, Finish finish, int stopToken, String error) {
        if (seq != null) {
            bySeq.remove(seq.id());
            r.preemptions += seq.preemptions();
        }
        byRequest.remove(r);
        stepFailures.remove(r);
        assigned.decrementAndGet();
        if (r.markDone()) r.sink().onFinish(finish, stopToken, error);
        owner.onRoom(this);
    }

    private void terminate(String why) {
        stopped = true;
        if (pipeline != null) pipeline.cancel(why);
        List<Request> live = new ArrayList<>();
        scheduler.drain();
        // Every admitted request is in byRequest until it finishes, whatever the scheduler's state of its sequence.
        byRequest.forEach((r, seq) -> {
            r.preemptions += seq.preemptions();
            if (!r.isDone()) live.add(r);
        });
        // Requests still in the inbox were never admitted here; cancellations of them are recorded on the request.
        for (Command c; (c = inbox.poll()) != null; )
            if (c instanceof Submit(Request r) && !r.isDone()) live.add(r);
        bySeq.clear();
        byRequest.clear();
        inFlight.clear();
        sentAt.clear();
        assigned.set(0);
        stats = new LoadStats(0, 0, 0, scheduler.config().kvBlocks());
        log.info("replica {} stopped ({}); {} live requests to move", route.replicaId(), why, live.size());
        owner.onLoopEnded(this, live, why);
    }
}
