package dev.tessera.coordinator.engine;

import dev.tessera.coordinator.scheduler.Finish;
import dev.tessera.coordinator.scheduler.SchedulerConfig;
import io.grpc.Channel;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The leader's replicas and the requests on them: one {@link EngineLoop} per replica, requests routed to the
 * replica with the least KV in use, and requests re-run elsewhere when their replica is lost.
 *
 * <p>A request that finds no replica (at start-up, or after its replica was lost and no other is ready) waits in a
 * bounded pending queue until one is ready or its deadline passes. Admission is bounded: at most {@code maxLive}
 * unfinished requests; beyond that {@link #submit} answers {@link Admission#FULL} at once.
 */
public final class ReplicaSet implements EngineLoop.Owner, AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(ReplicaSet.class);
    /** Moves after replica failures that a request survives; a request that keeps failing replicas then ends. */
    static final int MAX_MOVES = 3;
    /** The longest a request waits for a replica of its model to become ready. */
    static final long MAX_PENDING_NANOS = TimeUnit.SECONDS.toNanos(120);

    /** Per-replica scheduling limits; the KV pool and context come from the replica. */
    public record Limits(int maxBatchTokens, int maxRunning, int maxWaiting, int maxSkips, java.time.Duration stepTimeout) {
        public static final Limits DEFAULT = new Limits(512, 256, 1024, 16, java.time.Duration.ofSeconds(120));

        public Limits {
            if (stepTimeout == null || stepTimeout.isNegative() || stepTimeout.isZero())
                throw new IllegalArgumentException("the step timeout must be positive");
        }

        public Limits withStepTimeout(java.time.Duration timeout) {
            return new Limits(maxBatchTokens, maxRunning, maxWaiting, maxSkips, timeout);
        }

        SchedulerConfig forReplica(ReplicaRoute r) {
            int budget = r.maxBatchTokens() > 0 ? Math.min(maxBatchTokens, r.maxBatchTokens()) : maxBatchTokens;
            return new SchedulerConfig(budget, maxRunning, maxWaiting, r.kvBlocks(), r.kvBlockSize(), r.maxContextTokens(), maxSkips);
        }
    }

    /** What became of a submitted request. */
    public enum Admission { ACCEPTED, FULL, CLOSED }

    private final Function<String, Channel> stageChannels;
    private final Limits limits;
    private final int maxLive;
    private final AtomicLong seqIds = new AtomicLong();
    private final AtomicInteger live = new AtomicInteger();
    private final AtomicLong moved = new AtomicLong();
    private final Map<String, EngineLoop> loops = new HashMap<>();
    private volatile List<EngineLoop> loopView = List.of(); // loops.values(), republished on every change; for metrics
    private final Map<String, ReplicaRoute> wanted = new HashMap<>();
    // NOTE: a replica whose stream failed is retried with backoff, not at once: a worker that crashed stays
    // registered until its ZooKeeper session times out, and retrying it in a tight loop would only fail again.
    private final Map<String, Long> retryAt = new HashMap<>();
    private final Map<String, Long> backoffMillis = new HashMap<>();
    private final ArrayDeque<Request> pending = new ArrayDeque<>();
    private volatile int pendingCount; // pending.size(), readable without the lock
    private final ScheduledExecutorService timer;
    private long epoch;
    private boolean closed;
    private volatile Runnable onChange = () -> { };

    /**
     * @param stageChannels gives the channel to a stage's address ("host:port"); channels are shared and owned by the caller
     */
    public ReplicaSet(Function<String, Channel> stageChannels, Limits limits, int maxLive) {
        this.stageChannels = stageChannels;
        this.limits = limits;
        this.maxLive = maxLive;
        this.timer = Executors.newSingleThreadScheduledExecutor(Thread.ofPlatform().name("replica-set").daemon().factory());
        timer.scheduleWithFixedDelay(this::expirePending, 100, 100, TimeUnit.MILLISECONDS);
        timer.scheduleWithFixedDelay(this::retryReplicas, 100, 100, TimeUnit.MILLISECONDS);
    }

    /**
     * Reconciles the loops with the replicas that exist now, as leader of {@code epoch}: starts a loop for each new
     * replica and stops those whose replica is gone (their requests move). A new epoch restarts every loop.
     */
    public synchronized void update(List<ReplicaRoute> routes, long epoch) {
        if (closed) return;
        if (epoch != this.epoch) {
            for (EngineLoop loop : loops.values()) loop.stop("new leader epoch " + epoch);
            loops.clear();
            publishLoops();
            this.epoch = epoch;
        }
        wanted.clear();
        for (ReplicaRoute r : routes) wanted.put(r.replicaId(), r);
        retryAt.keySet().retainAll(wanted.keySet());
        backoffMillis.keySet().retainAll(wanted.keySet());
        for (Iterator<Map.Entry<String, EngineLoop>> it = loops.entrySet().iterator(); it.hasNext(); ) {
            Map.Entry<String, EngineLoop> e = it.next();
            ReplicaRoute now = wanted.get(e.getKey());
            if (now == null || !now.equals(e.getValue().route())) {
                e.getValue().stop("replica " + e.getKey() + " changed or is no longer complete");
                it.remove();
            }
        }
        publishLoops();
        startLoops();
    }

    /** Starts a loop for every wanted replica that has none and is not backing off. Holds the lock. */
    private void startLoops() {
        long now = System.nanoTime();
        boolean started = false;
        for (ReplicaRoute r : wanted.values()) {
            if (loops.containsKey(r.replicaId())) continue;
            Long at = retryAt.get(r.replicaId());
            if (at != null && now - at < 0) continue;
            EngineLoop loop = new EngineLoop(r, epoch, limits.forReplica(r), limits.stepTimeout(),
                    stageChannels.apply(r.stages().getFirst().getAddress()), seqIds, this);
            retryAt.remove(r.replicaId());
            loops.put(r.replicaId(), loop);
            loop.start();
            started = true;
        }
        if (started) publishLoops();
        dispatchPending();
        if (started) onChange.run();
    }

    private synchronized void retryReplicas() {
        if (!closed && !retryAt.isEmpty()) startLoops();
    }

    /** Runs after the set of serving replicas changed (a loop started or ended); for health reporting. */
    public void onChange(Runnable listener) { this.onChange = listener; }

    /** Routes a request to the least loaded replica, or parks it until one is ready. */
    public Admission submit(Request r) {
        if (live.incrementAndGet() > maxLive) {
            live.decrementAndGet();
            return Admission.FULL;
        }
        r.onDone(live::decrementAndGet);
        synchronized (this) {
            if (closed) {
                live.decrementAndGet();
                return Admission.CLOSED;
            }
            if (!route(r)) park(r);
        }
        return Admission.ACCEPTED;
    }

    /** Routes to a running loop of the request's model that can hold it; false when none takes it. Holds the lock. */
    private boolean route(Request r) {
        List<EngineLoop> candidates = new ArrayList<>();
        for (EngineLoop loop : loops.values()) if (loop.isRunning() && loop.canServe(r) && loop.hasRoom()) candidates.add(loop);
        // NOTE: least KV in use first, then the shortest queue: round robin would pile long requests on one replica.
        // The KV figure is the loop's last snapshot; the assigned count is exact at once, so a burst of arrivals
        // between two snapshots spreads over the replicas instead of piling onto the first.
        candidates.sort(Comparator.<EngineLoop>comparingDouble(l -> l.stats().kvUsage())
                .thenComparingInt(EngineLoop::assigned));
        for (EngineLoop loop : candidates) if (loop.submit(r)) return true;
        return false;
    }

    private void park(Request r) {
        r.pendingSince = System.nanoTime();
        pending.add(r);
        pendingCount = pending.size();
    }

    private synchronized void dispatchPending() {
        for (Iterator<Request> it = pending.iterator(); it.hasNext(); ) {
            Request r = it.next();
            if (r.isDone()) { it.remove(); continue; }
            if (route(r)) it.remove();
        }
        pendingCount = pending.size();
    }

    @Override
    public void onRoom(EngineLoop loop) {
        // NOTE: the common case (nothing parked) costs one volatile read on the engine loop's thread, no lock.
        if (pendingCount > 0) dispatchPending();
    }

    private void expirePending() {
        List<Request> expired = new ArrayList<>();
        synchronized (this) {
            long now = System.nanoTime();
            for (Iterator<Request> it = pending.iterator(); it.hasNext(); ) {
                Request r = it.next();
                // NOTE: a request without a deadline still waits at most MAX_PENDING for a replica: a client must
                // never hang on a cluster that has lost every replica of its model.
                if (r.requestedFinish() != null || now - r.deadlineNanos() > 0 || now - r.pendingSince > MAX_PENDING_NANOS) {
                    it.remove();
                    expired.add(r);
                }
            }
            pendingCount = pending.size();
        }
        for (Request r : expired) {
            Finish f = r.requestedFinish();
            if (r.markDone()) {
                if (f != null) r.sink().onFinish(f, -1, null);
                else r.sink().onFinish(Finish.ERROR, -1, "no replica of " + r.model() + " was ready before the request's "
                        + "deadline (or within " + TimeUnit.NANOSECONDS.toSeconds(MAX_PENDING_NANOS) + " s)");
            }
        }
    }

    @Override
    public void onLoopEnded(EngineLoop loop, List<Request> live, String why) {
        synchronized (this) {
            String id = loop.route().replicaId();
            if (loops.get(id) == loop) {
                loops.remove(id);
                publishLoops();
                if (wanted.containsKey(id)) { // it failed rather than being retired by update()
                    // A loop that completed steps worked: start over from the shortest backoff.
                    if (loop.stepsCompleted() > 0) backoffMillis.remove(id);
                    long backoff = Math.min(backoffMillis.getOrDefault(id, 125L) * 2, 10_000L);
                    backoffMillis.put(id, backoff);
                    retryAt.put(id, System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(backoff));
                }
            }
            if (closed) {
                for (Request r : live) if (r.markDone()) r.sink().onFinish(Finish.CANCELLED, -1, "the coordinator stopped scheduling: " + why);
                return;
            }
            moved.addAndGet(live.size());
            for (Request r : live) {
                if (++r.moves > MAX_MOVES) {
                    if (r.markDone()) r.sink().onFinish(Finish.ERROR, -1, "gave up after " + MAX_MOVES
                            + " replica failures while running it; the last: " + why);
                    continue;
                }
                if (!route(r)) park(r);
            }
        }
        if (!live.isEmpty()) log.warn("moved {} requests off replica {} ({})", live.size(), loop.route().replicaId(), why);
        onChange.run();
    }

    private void publishLoops() { loopView = List.copyOf(loops.values()); }

    /** One replica's load as its engine loop last published it. */
    public record ReplicaLoad(String replicaId, String model, EngineLoop.LoadStats stats) {}

    /** The replicas' loads and the requests parked until a replica takes them. */
    public record LoadSnapshot(List<ReplicaLoad> replicas, int pending) {
        public LoadSnapshot { replicas = List.copyOf(replicas); }
    }

    /**
     * The load of every running replica and the pending count, read without the set's lock: each figure is the
     * latest its owner published (an engine loop once per iteration), so the figures may be a moment apart. For
     * metrics, which must not contend with routing or the engine loops.
     */
    public LoadSnapshot loadSnapshot() {
        List<ReplicaLoad> out = new ArrayList<>();
        for (EngineLoop loop : loopView)
            if (loop.isRunning()) out.add(new ReplicaLoad(loop.route().replicaId(), loop.route().model(), loop.stats()));
        return new LoadSnapshot(out, pendingCount);
    }

    /** Snapshot of each replica's load, keyed by replica id. */
    public synchronized Map<String, EngineLoop.LoadStats> stats() {
        Map<String, EngineLoop.LoadStats> out = new HashMap<>();
        loops.forEach((id, loop) -> out.put(id, loop.stats()));
        return out;
    }

    public synchronized List<ReplicaRoute> replicas() {
        return loops.values().stream().map(EngineLoop::route).toList();
    }

    public synchronized int pending() { return pending.size(); }

    public int live() { return live.get(); }

    /** Requests moved off a lost replica so far. */
    public long movedRequests() { return moved.get(); }

    /** Stops every loop and fails every request (this coordinator stops leading or shuts down). */
    @Override
    public void close() {
        List<EngineLoop> toStop;
        List<Request> parked;
        synchronized (this) {
            if (closed) return;
            closed = true;
            toStop = new ArrayList<>(loops.values());
            parked = new ArrayList<>(pending);
            pending.clear();
            pendingCount = 0;
        }
        for (EngineLoop loop : toStop) loop.close();
        for (Request r : parked) if (r.markDone()) r.sink().onFinish(Finish.CANCELLED, -1, "the coordinator stopped scheduling");
        timer.shutdownNow();
    }
}
