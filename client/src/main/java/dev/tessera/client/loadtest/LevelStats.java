package dev.tessera.client.loadtest;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.HdrHistogram.Histogram;

/**
 * The arithmetic of one level: percentiles (HdrHistogram, microseconds, 3 significant digits), throughput and
 * goodput over the requests measured, from their timelines alone, so it can be checked on synthetic timelines.
 */
public final class LevelStats {

    /** Points kept per level for the charts; more requests are thinned evenly. */
    static final int MAX_SAMPLES = 4000;
    private static final long MAX_MICROS = 3_600_000_000L; // an hour: latencies beyond are clamped

    private LevelStats() {}

    /**
     * @param level          the offered load
     * @param measured       the requests started after the warm-up, all finished
     * @param measureStart   when the measured window began (nanoTime)
     * @param slo            goodput limits
     */
    public static LevelResult summarize(LoadLevel level, List<RequestTimeline> measured, long measureStart, Slo slo) {
        Histogram ttft = histogram(), tpot = histogram(), itl = histogram(), e2e = histogram();
        Map<String, Long> errors = new TreeMap<>();
        long completed = 0, failed = 0, good = 0, inputTokens = 0, outputTokens = 0, end = measureStart;
        List<Sample> samples = new ArrayList<>(Math.min(measured.size(), MAX_SAMPLES));
        int stride = Math.max(1, (measured.size() + MAX_SAMPLES - 1) / MAX_SAMPLES);
        for (int i = 0; i < measured.size(); i++) {
            RequestTimeline t = measured.get(i);
            end = Math.max(end, t.endNanos());
            outputTokens += t.outputTokens();
            long ttftNs = t.ttftNanos(), tpotNs = t.tpotNanos(), e2eNs = t.endNanos() - t.startNanos();
            if (t.ok()) {
                completed++;
                inputTokens += t.promptTokens();
                if (ttftNs >= 0) ttft.recordValue(micros(ttftNs));
                if (tpotNs >= 0) tpot.recordValue(micros(tpotNs));
                e2e.recordValue(micros(e2eNs));
                for (long gap : t.gapsNanos()) itl.recordValue(micros(gap));
                // A request that streamed no token has no TTFT: it cannot meet a TTFT limit.
                if (slo.met(ttftNs < 0 ? Double.POSITIVE_INFINITY : ttftNs / 1e6, tpotNs < 0 ? 0 : tpotNs / 1e6, e2eNs / 1e6)) good++;
            } else {
                failed++;
                errors.merge(t.error(), 1L, Long::sum);
            }
            if (i % stride == 0)
                samples.add(new Sample((t.startNanos() - measureStart) / 1e9, ttftNs < 0 ? Double.NaN : ttftNs / 1e6,
                        tpotNs < 0 ? Double.NaN : tpotNs / 1e6, e2eNs / 1e6, t.outputTokens(), t.ok()));
        }
        double seconds = Math.max(1e-9, (end - measureStart) / 1e9);
        long all = completed + failed;
        return new LevelResult(level, seconds, completed, failed, errors, completed / seconds, inputTokens / seconds,
                outputTokens / seconds, Percentiles.ofMicros(ttft), Percentiles.ofMicros(tpot), Percentiles.ofMicros(itl),
                Percentiles.ofMicros(e2e), good / seconds, all == 0 ? 0 : (double) good / all, samples);
    }

    private static Histogram histogram() { return new Histogram(MAX_MICROS, 3); }

    private static long micros(long nanos) { return Math.min(MAX_MICROS, Math.max(0, nanos / 1000)); }

    /**
     * The knee of a sweep: the last level before the server stops keeping up. A level is past it when its p99 time
     * to first token is more than three times the first level's or its median time per output token more than
     * twice (queues are growing), or, in a closed loop, when it adds less than 10% throughput over the previous
     * level, or, in an open loop, when it completes less than half its offered rate. -1 with fewer than two levels
     * or when every level keeps up.
     *
     * <p>NOTE: an open loop's achieved rate is not compared with its offered rate more tightly: with a few dozen
     * Poisson arrivals per level, and a duration that includes the last requests' drain, a server that keeps up
     * can show 70% of the offered rate; growing latency is the reliable sign.
     */
    public static int knee(List<LevelResult> levels) {
        if (levels.size() < 2) return -1;
        double baseTtft = Math.max(levels.getFirst().ttft().p99(), 1e-3), baseTpot = Math.max(levels.getFirst().tpot().p50(), 1e-3);
        for (int i = 1; i < levels.size(); i++) {
            LevelResult l = levels.get(i), prev = levels.get(i - 1);
            boolean throughputFlat = l.level().openLoop() ? l.requestsPerSecond() < 0.5 * l.level().offeredRate()
                    : l.requestsPerSecond() < 1.1 * prev.requestsPerSecond();
            if (throughputFlat || l.ttft().p99() > 3 * baseTtft || l.tpot().p50() > 2 * baseTpot) return i - 1;
        }
        return -1;
    }
}
