package dev.tessera.client.loadtest;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.HdrHistogram.Histogram;

/**
 * Reports for tests, made from seeded random samples the way the harness makes them: percentiles from histograms
 * of the samples, rates from counts over the level's duration, goodput against the SLOs.
 */
final class SyntheticReports {

    static final Slo SLO = new Slo(500, 0, 20_000);
    static final int OUTPUT_TOKENS = 128;

    private SyntheticReports() {}

    static RunInfo run(String model, String arrivals) {
        return new RunInfo("grpc 127.0.0.1:50051", model, "prompt uniform 100..300 tokens, output 128 tokens",
                arrivals, 42, "2025-01-01T00:00:00Z", true, "fixed 8 ms/token + 30 ms prefill", SLO, 5,
                "./tessera loadtest --rates 1,2,4,8,16 --duration 20 --seed 42 --slo-ttft 500");
    }

    /**
     * Five open-loop levels at 1, 2, 4, 8 and 16 requests/s with capacity near 9/s: the knee is level 3 (8/s); at
     * 16/s TTFT climbs during the level, 5 requests fail (no token, NaN TTFT and TPOT) and one request takes
     * 5,000 s end to end (a huge value).
     */
    static Report rates(String model) {
        Random random = new Random(7);
        double[] rates = {1, 2, 4, 8, 16};
        List<LevelResult> levels = new ArrayList<>();
        for (int i = 0; i < rates.length; i++) {
            boolean overloaded = i == 4;
            levels.add(level(LoadLevel.rate(rates[i]), random, Math.min(rates[i], 9), 20, 40.0 * (1 + i), overloaded,
                    overloaded ? 5 : 0, overloaded ? Map.of("http 429", 3L, "timeout", 2L) : Map.of()));
        }
        return new Report(run(model, "poisson"), levels, 3);
    }

    /** One closed-loop level at concurrency 4 where every request failed before its first token. */
    static Report nothingCompleted() {
        List<Sample> samples = new ArrayList<>();
        for (int k = 0; k < 12; k++) samples.add(new Sample(k * 0.5, Double.NaN, Double.NaN, 30_000, 0, false));
        LevelResult level = new LevelResult(LoadLevel.concurrency(4), 6, 0, 12, Map.of("UNAVAILABLE", 12L), 0, 0, 0,
                Percentiles.EMPTY, Percentiles.EMPTY, Percentiles.EMPTY, Percentiles.EMPTY, 0, 0, samples);
        return new Report(run("gpt-oss-20b", "closed loop"), List.of(level), -1);
    }

    /**
     * A level of samples sent evenly over {@code seconds} at {@code achieved} per second.
     *
     * @param ttftBase   the median TTFT in ms before any queueing
     * @param overloaded whether TTFT climbs during the level (a queue builds) and one request takes 5,000 s
     * @param failures   how many more requests fail without a token
     */
    static LevelResult level(LoadLevel load, Random random, double achieved, double seconds, double ttftBase,
                             boolean overloaded, int failures, Map<String, Long> errors) {
        int completed = (int) Math.round(achieved * seconds);
        Histogram ttft = new Histogram(3), tpot = new Histogram(3), e2e = new Histogram(3);
        List<Sample> samples = new ArrayList<>();
        long good = 0;
        for (int k = 0; k < completed; k++) {
            double start = k * seconds / completed;
            double t = ttftBase * Math.exp(0.3 * random.nextGaussian()) * (overloaded ? 1 + start : 1);
            double perToken = 8 * Math.exp(0.1 * random.nextGaussian());
            double total = overloaded && k == completed / 2 ? 5_000_000 : t + perToken * (OUTPUT_TOKENS - 1);
            ttft.recordValue(Math.round(t * 1e3));
            tpot.recordValue(Math.round(perToken * 1e3));
            e2e.recordValue(Math.round(total * 1e3));
            if (SLO.met(t, perToken, total)) good++;
            samples.add(new Sample(start, t, perToken, total, OUTPUT_TOKENS, true));
        }
        for (int k = 0; k < failures; k++)
            samples.add(new Sample(seconds * (k + 0.5) / failures, Double.NaN, Double.NaN, 30_000, 0, false));
        double rps = completed / seconds;
        return new LevelResult(load, seconds, completed, failures, errors, rps, rps * 200, rps * OUTPUT_TOKENS,
                Percentiles.ofMicros(ttft), Percentiles.ofMicros(tpot), Percentiles.ofMicros(tpot),
                Percentiles.ofMicros(e2e), good / seconds, (double) good / (completed + failures), samples);
    }
}
