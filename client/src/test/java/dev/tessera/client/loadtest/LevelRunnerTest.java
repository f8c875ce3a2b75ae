package dev.tessera.client.loadtest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.time.Duration;
import java.util.Random;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Rate control, warm-up, the concurrency gate and the drain, against a target that answers on a fixed schedule. */
class LevelRunnerTest {

    /** The boundary of the runner: answers each request with its tokens 2 ms apart after {@code ttftMs}; or never. */
    static final class FakeTarget implements Target {
        final ScheduledExecutorService clock = Executors.newSingleThreadScheduledExecutor(); // one thread: tokens in order
        final AtomicInteger inFlight = new AtomicInteger(), maxInFlight = new AtomicInteger(), sent = new AtomicInteger();
        final long ttftMs;
        final boolean answers;

        FakeTarget(long ttftMs, boolean answers) {
            this.ttftMs = ttftMs;
            this.answers = answers;
        }

        @Override
        public void send(LoadRequest r, RequestTimeline t) {
            sent.incrementAndGet();
            maxInFlight.accumulateAndGet(inFlight.incrementAndGet(), Math::max);
            if (!answers) return;
            for (int i = 0; i < r.outputTokens(); i++) {
                int token = i;
                clock.schedule(() -> {
                    t.onTokens(1, System.nanoTime());
                    if (token == r.outputTokens() - 1) {
                        inFlight.decrementAndGet();
                        t.finish(System.nanoTime(), null, -1, 0);
                    }
                }, ttftMs * 1000 + token * 2000L, TimeUnit.MICROSECONDS);
            }
        }

        @Override public String describe() { return "fake"; }
        @Override public ServerModel model() { return new ServerModel("fake", false, ""); }
        @Override public void close() { clock.shutdownNow(); }
    }

    private FakeTarget target;
    private final PrintStream quiet = new PrintStream(new ByteArrayOutputStream());

    @AfterEach
    void stop() { if (target != null) target.close(); }

    private static Workload workload(int outputTokens) {
        return new SyntheticWorkload(new LengthDistribution.Fixed(4), new LengthDistribution.Fixed(outputTokens), 0, 100, false, 1);
    }

    private static LevelRunner.Settings settings(double warmupS, double durationS, int requests, int maxInFlight, double drainS) {
        return new LevelRunner.Settings(Duration.ofMillis((long) (warmupS * 1000)), Duration.ofMillis((long) (durationS * 1000)),
                requests, maxInFlight, 1, Duration.ofMillis((long) (drainS * 1000)), Slo.NONE);
    }

    @Test
    void anOpenLoopOffersItsRateAndExcludesTheWarmUp() throws Exception {
        target = new FakeTarget(20, true);
        LevelRunner runner = new LevelRunner(target, workload(5), settings(0.5, 2, 0, 0, 10), new Random(4));
        LevelResult r = runner.run(LoadLevel.rate(100), quiet, false);
        // 2.5 s at 100/s: about 250 sent, about 200 measured (Poisson: within a few standard deviations).
        assertEquals(250, target.sent.get(), 50);
        assertEquals(200, r.completed(), 45);
        assertEquals(0, r.failed());
        assertEquals(20, r.ttft().p50(), 8, "the fake answers after 20 ms");
        assertEquals(2, r.itl().p50(), 1.5);
        assertEquals(5 * r.completed() / r.durationSeconds(), r.outputTokensPerSecond(), 1e-6);
    }

    @Test
    void aRequestCountEndsTheLevelAndTheGateBoundsWhatIsInFlight() throws Exception {
        target = new FakeTarget(50, true);
        LevelRunner runner = new LevelRunner(target, workload(3), settings(0, 0, 40, 4, 10), new Random(4));
        LevelResult r = runner.run(LoadLevel.rate(1000), quiet, false);
        assertEquals(40, r.completed());
        assertEquals(40, target.sent.get());
        assertTrue(target.maxInFlight.get() <= 4, "in flight: " + target.maxInFlight.get());
        // Queued at the gate behind a 54 ms request, later arrivals wait: TTFT grows well past the server's 50 ms.
        assertTrue(r.ttft().p99() > 100, "TTFT p99 " + r.ttft().p99());
    }

    @Test
    void aClosedLoopKeepsItsUsersBusy() throws Exception {
        target = new FakeTarget(10, true);
        LevelRunner runner = new LevelRunner(target, workload(2), settings(0, 1, 0, 0, 10), new Random(4));
        LevelResult r = runner.run(LoadLevel.concurrency(3), quiet, false);
        assertEquals(3, target.maxInFlight.get());
        // Each user finishes a request every ~12 ms: about 3 / 0.012 = 250 requests per second.
        assertTrue(r.requestsPerSecond() > 120 && r.requestsPerSecond() < 300, r.requestsPerSecond() + " req/s");
    }

    @Test
    void aLongGapDoesNotHoldALowRateLevelOpen() throws Exception {
        target = new FakeTarget(1, true);
        LevelRunner runner = new LevelRunner(target, workload(1), settings(0, 1, 0, 0, 10), new Random(4));
        long start = System.nanoTime();
        runner.run(LoadLevel.rate(0.01), quiet, false); // a mean gap of 100 s
        assertTrue(System.nanoTime() - start < 3_000_000_000L, "the 1 s level ended on time");
    }

    @Test
    void requestsStillRunningAtTheDrainTimeoutFail() throws Exception {
        target = new FakeTarget(0, false);
        LevelRunner runner = new LevelRunner(target, workload(1), settings(0, 0, 5, 0, 0.3), new Random(4));
        LevelResult r = runner.run(LoadLevel.rate(100), quiet, false);
        assertEquals(0, r.completed());
        assertEquals(5, r.failed());
        assertEquals(5, r.errors().get("timeout"));
    }
}
