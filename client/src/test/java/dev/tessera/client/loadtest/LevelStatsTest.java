package dev.tessera.client.loadtest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The harness's arithmetic on hand-made timelines: percentiles, throughput, gaps, goodput, the knee. */
class LevelStatsTest {

    private static final long MS = 1_000_000L;

    /** A request sent at {@code start} ms whose tokens arrive at the given ms offsets (one message each). */
    private static RequestTimeline request(long startMs, long... tokenMs) {
        RequestTimeline t = new RequestTimeline(new LoadRequest(0, new int[] {1, 2, 3}, null, 3, Math.max(1, tokenMs.length)), startMs * MS);
        for (long at : tokenMs) t.onTokens(1, (startMs + at) * MS);
        t.finish((startMs + (tokenMs.length == 0 ? 5 : tokenMs[tokenMs.length - 1])) * MS, null, -1, 0);
        return t;
    }

    @Test
    void percentilesThroughputAndGapsOfKnownTimelines() {
        List<RequestTimeline> timelines = new ArrayList<>();
        // 100 requests, one per 10 ms; request i has TTFT (i + 1) ms and 4 more tokens 10 ms apart.
        for (int i = 0; i < 100; i++) timelines.add(request(i * 10L, i + 1, i + 11, i + 21, i + 31, i + 41));
        LevelResult r = LevelStats.summarize(LoadLevel.rate(100), timelines, 0, Slo.NONE);
        assertEquals(100, r.completed());
        assertEquals(0, r.failed());
        assertEquals(50, r.ttft().p50(), 0.1);
        assertEquals(99, r.ttft().p99(), 0.1);
        assertEquals(100, r.ttft().max(), 0.1);
        assertEquals(50.5, r.ttft().mean(), 0.1);
        assertEquals(10, r.tpot().p50(), 0.01, "40 ms over 4 tokens after the first");
        assertEquals(400, r.itl().count(), "4 gaps per request");
        assertEquals(10, r.itl().p99(), 0.01);
        // The last request ends at 990 + 140 ms: 100 requests and 500 tokens over 1.130 s.
        assertEquals(1.130, r.durationSeconds(), 1e-6);
        assertEquals(100 / 1.130, r.requestsPerSecond(), 1e-6);
        assertEquals(500 / 1.130, r.outputTokensPerSecond(), 1e-6);
        assertEquals(300 / 1.130, r.inputTokensPerSecond(), 1e-6);
        assertEquals(r.requestsPerSecond(), r.goodputPerSecond(), 1e-9, "without SLOs every success is good");
        assertEquals(100, r.samples().size());
    }

    @Test
    void severalTokensInOneMessageAreZeroGaps() {
        RequestTimeline t = new RequestTimeline(new LoadRequest(0, new int[] {1}, null, 1, 5), 0);
        t.onTokens(1, 10 * MS);
        t.onTokens(3, 40 * MS);  // coalesced: arrived together
        t.onTokens(1, 50 * MS);
        t.finish(50 * MS, null, -1, 0);
        assertEquals(List.of(30 * MS, 0L, 0L, 10 * MS), java.util.Arrays.stream(t.gapsNanos()).boxed().toList());
        assertEquals(10 * MS, t.tpotNanos(), "(50 - 10) ms over 4 tokens");
        assertEquals(10 * MS, t.ttftNanos());
    }

    @Test
    void goodputCountsOnlyRequestsWithinEverySlo() {
        List<RequestTimeline> timelines = new ArrayList<>();
        for (int i = 0; i < 10; i++) timelines.add(request(0, 100L * (i + 1), 100L * (i + 1) + 10)); // TTFT 100..1000 ms, TPOT 10 ms
        RequestTimeline failed = new RequestTimeline(new LoadRequest(0, new int[] {1}, null, 1, 1), 0);
        failed.finish(5 * MS, "UNAVAILABLE", -1, 0);
        timelines.add(failed);
        LevelResult r = LevelStats.summarize(LoadLevel.concurrency(4), timelines, 0, new Slo(500, 50, 0));
        assertEquals(5.0 / 11, r.goodFraction(), 1e-9, "TTFT 100..500 ms meet the SLO; the failure never does");
        assertEquals(5 / r.durationSeconds(), r.goodputPerSecond(), 1e-9);
        assertEquals(1, r.errors().get("UNAVAILABLE"));
        LevelResult strict = LevelStats.summarize(LoadLevel.concurrency(4), timelines, 0, new Slo(0, 5, 0));
        assertEquals(0, strict.goodputPerSecond(), "TPOT 10 ms misses a 5 ms SLO");
    }

    @Test
    void requestsWithoutTokensHaveNoTtftButCountInE2e() {
        RequestTimeline t = new RequestTimeline(new LoadRequest(0, new int[] {1}, null, 1, 1), 0);
        t.finish(7 * MS, null, 0, 0);
        LevelResult r = LevelStats.summarize(LoadLevel.rate(1), List.of(t), 0, Slo.NONE);
        assertEquals(0, r.ttft().count());
        assertEquals(1, r.e2e().count());
        assertTrue(Double.isNaN(r.samples().getFirst().ttftMs()));
        assertEquals(0, LevelStats.summarize(LoadLevel.rate(1), List.of(t), 0, new Slo(500, 0, 0)).goodFraction(),
                "no first token cannot meet a TTFT limit");
    }

    private static LevelResult level(LoadLevel l, double rps, double ttftP99) {
        Percentiles ttft = new Percentiles(10, ttftP99 / 2, ttftP99 / 2, ttftP99, ttftP99, ttftP99, ttftP99);
        return new LevelResult(l, 10, 10, 0, java.util.Map.of(), rps, 0, 0, ttft, Percentiles.EMPTY, Percentiles.EMPTY,
                Percentiles.EMPTY, rps, 1, List.of());
    }

    @Test
    void theKneeIsTheLastLevelThatKeepsUp() {
        assertEquals(1, LevelStats.knee(List.of(level(LoadLevel.rate(1), 1, 100), level(LoadLevel.rate(2), 1.98, 110),
                level(LoadLevel.rate(8), 3.5, 200))), "rate 8 achieves 3.5/s");
        assertEquals(-1, LevelStats.knee(List.of(level(LoadLevel.rate(1), 0.75, 100), level(LoadLevel.rate(2), 1.4, 110))),
                "70% of a small Poisson level with its drain is noise, not a knee");
        assertEquals(0, LevelStats.knee(List.of(level(LoadLevel.rate(1), 1, 100), level(LoadLevel.rate(2), 2, 400))),
                "TTFT p99 quadrupled");
        assertEquals(-1, LevelStats.knee(List.of(level(LoadLevel.rate(1), 1, 100), level(LoadLevel.rate(2), 2, 120))));
        assertEquals(1, LevelStats.knee(List.of(level(LoadLevel.concurrency(1), 1, 100), level(LoadLevel.concurrency(2), 1.9, 100),
                level(LoadLevel.concurrency(4), 2.0, 150))), "closed loop: doubling the users added 5%");
        assertEquals(-1, LevelStats.knee(List.of(level(LoadLevel.rate(1), 1, 100))));
    }
}
