package dev.tessera.client.loadtest;

import java.io.PrintStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

/**
 * Runs one load level against a target: an open loop that sends on an arrival schedule whether or not earlier
 * requests have finished (optionally gated at a most-in-flight count, as vLLM's {@code --max-concurrency}), or a
 * closed loop of N users that each send again as soon as their request ends. Requests started during the warm-up
 * are run but not measured; then the level runs for its duration or request count, and waits for what is in flight.
 *
 * <p>NOTE: in the open loop, arrival times are computed from the schedule, not from when the previous send
 * returned, so a slow client does not quietly lower the offered rate; a request is timed from its scheduled
 * arrival, so time spent waiting at the concurrency gate counts in its TTFT (as a real user's would).
 */
public final class LevelRunner {

    /**
     * @param warmup       run but not measured at the start of each level
     * @param duration     measured time per level (when {@code requests} is 0)
     * @param requests     measured requests per level instead of a duration (0: by duration)
     * @param maxInFlight  open loop: most requests in flight (0: no gate)
     * @param burstiness   open loop: gamma shape of the arrivals (1: Poisson)
     * @param drainTimeout how long to wait for requests in flight once sending stops
     * @param slo          goodput limits
     */
    public record Settings(Duration warmup, Duration duration, int requests, int maxInFlight, double burstiness,
                           Duration drainTimeout, Slo slo) {
        public Settings {
            if (requests < 0 || maxInFlight < 0) throw new IllegalArgumentException("counts must be >= 0");
            if (requests == 0 && (duration == null || duration.isZero() || duration.isNegative()))
                throw new IllegalArgumentException("give a duration or a request count per level");
        }
    }

    private final Target target;
    private final Workload workload;
    private final Settings settings;
    private final Random random;
    private final AtomicInteger index = new AtomicInteger();

    public LevelRunner(Target target, Workload workload, Settings settings, Random random) {
        this.target = target;
        this.workload = workload;
        this.settings = settings;
        this.random = random;
    }

    public LevelResult run(LoadLevel level, PrintStream progressOut, boolean terminal) throws InterruptedException {
        List<RequestTimeline> all = Collections.synchronizedList(new ArrayList<>());
        long start = System.nanoTime(), measureStart = start + settings.warmup().toNanos();
        try (ProgressLine progress = new ProgressLine(progressOut, level.label(), terminal)) {
            if (level.openLoop()) openLoop(level, all, start, measureStart, progress);
            else closedLoop(level, all, measureStart, progress);
            drain(all);
        }
        List<RequestTimeline> measured;
        synchronized (all) {
            measured = all.stream().filter(t -> t.startNanos() >= measureStart).toList();
        }
        return LevelStats.summarize(level, measured, measureStart, settings.slo());
    }

    private boolean sending(long now, long measureStart, AtomicInteger measuredSent) {
        return settings.requests() > 0 ? measuredSent.get() < settings.requests()
                : now < measureStart + settings.duration().toNanos();
    }

    private void openLoop(LoadLevel level, List<RequestTimeline> all, long start, long measureStart, ProgressLine progress)
            throws InterruptedException {
        ArrivalProcess arrivals = new ArrivalProcess(level.offeredRate(), settings.burstiness());
        Semaphore gate = settings.maxInFlight() > 0 ? new Semaphore(settings.maxInFlight()) : null;
        AtomicInteger measuredSent = new AtomicInteger();
        long next = start;
        while (true) {
            // NOTE: the gap is capped at what is left of the level, so one long (bursty) gap cannot hold the level
            // open, and the end is checked before sleeping, not after.
            long left = measureStart + (settings.requests() > 0 ? Long.MAX_VALUE / 4 : settings.duration().toNanos()) - next;
            next += (long) Math.min(arrivals.nextGapSeconds(random) * 1e9, Math.max(0, left) + 1);
            if (!sending(next, measureStart, measuredSent)) return;
            for (long d; (d = next - System.nanoTime()) > 0; ) LockSupport.parkNanos(d);
            if (Thread.interrupted()) throw new InterruptedException();
            if (gate != null) gate.acquire();
            if (next >= measureStart) measuredSent.incrementAndGet();
            send(next, all, progress, gate);
        }
    }

    private void closedLoop(LoadLevel level, List<RequestTimeline> all, long measureStart, ProgressLine progress)
            throws InterruptedException {
        AtomicInteger measuredSent = new AtomicInteger();
        List<Thread> users = new ArrayList<>();
        for (int u = 0; u < level.concurrency(); u++) {
            users.add(Thread.ofVirtual().name("loadtest-user-", u).start(() -> {
                try {
                    while (true) {
                        long now = System.nanoTime();
                        if (!sending(now, measureStart, measuredSent)) return;
                        if (now >= measureStart && measuredSent.incrementAndGet() > settings.requests() && settings.requests() > 0) return;
                        RequestTimeline t = send(now, all, progress, null);
                        if (!t.awaitFinish(settings.drainTimeout().toNanos())) t.abandon("timeout");
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }));
        }
        for (Thread u : users) u.join();
    }

    private RequestTimeline send(long at, List<RequestTimeline> all, ProgressLine progress, Semaphore gate) {
        LoadRequest r;
        synchronized (random) {
            r = workload.next(index.getAndIncrement(), random);
        }
        RequestTimeline t = new RequestTimeline(r, at);
        t.whenFinished(() -> {
            if (gate != null) gate.release();
            progress.done.incrementAndGet();
            progress.tokens.addAndGet(t.outputTokens());
            if (t.error() != null) progress.errors.incrementAndGet();
        });
        all.add(t);
        progress.sent.incrementAndGet();
        target.send(r, t);
        return t;
    }

    /**
     * Waits for the requests in flight; those still running at the drain timeout count as failed ("timeout") and
     * are cancelled, so they do not load the server during the next level.
     */
    private void drain(List<RequestTimeline> all) throws InterruptedException {
        long deadline = System.nanoTime() + settings.drainTimeout().toNanos();
        List<RequestTimeline> snapshot;
        synchronized (all) {
            snapshot = List.copyOf(all);
        }
        for (RequestTimeline t : snapshot) {
            if (!t.awaitFinish(Math.max(0, deadline - System.nanoTime()))) t.abandon("timeout");
        }
    }
}
