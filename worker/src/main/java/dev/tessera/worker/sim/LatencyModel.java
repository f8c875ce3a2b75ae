package dev.tessera.worker.sim;

import java.util.Locale;

/**
 * How long one step of a whole model takes, as a simulated replica paces it: {@code a + b·tokens + c·sequences}
 * milliseconds, where {@code tokens} are the tokens scheduled in the step (prefill chunks and decode tokens together)
 * and {@code sequences} the sequences it schedules.
 *
 * <p>A stage holding {@code n} of the model's {@code L} layers takes {@code n / L} of that (see {@link #stepNanos}):
 * the pipeline as a whole steps as the model does, and a replica of {@code S} stages keeps {@code S} steps in flight.
 * NOTE: the fixed cost {@code a} is split by layers too, although on a real engine much of it sits on the last stage
 * (the unembedding) or the first (the embedding); the proportional split is the simple, stated choice.
 *
 * @param baseMs        a: milliseconds every step costs, &gt;= 0
 * @param perTokenMs    b: milliseconds per scheduled token, &gt;= 0
 * @param perSequenceMs c: milliseconds per scheduled sequence, &gt;= 0
 * @param source        where the constants come from, for humans (e.g. "calibrated from ...", "given with
 *                      --sim-latency"); not blank
 */
public record LatencyModel(double baseMs, double perTokenMs, double perSequenceMs, String source) {

    /**
     * The default: fitted by {@link LatencyCalibration} ({@code ./tessera bench sim-calibration --threads 2 --repeats 7})
     * to the CPU engine's step times on the synthetic gpt-oss-20b shape cut to 2 layers, on 2 threads of the 2-core
     * development machine (AMD EPYC, AVX2), 2026-11-23: decode at batch 1, 4, 16 and 32, prefills of 32, 128 and 256
     * tokens, and four 64-token prefills in one step; the fastest of 7 runs each. The fit is within 10% of every
     * measured step but the 32-token prefill (29% under). Two runs gave 42.6 + 9.51·t + 22.1·s and
     * 47.2 + 9.44·t + 20.4·s; the quieter second is the default. The table is in docs/BENCHMARKS.md ("Simulated
     * workers").
     */
    public static final LatencyModel DEFAULT = new LatencyModel(47.2, 9.44, 20.4,
            "calibrated from the CPU engine, gpt-oss-20b shape cut to 2 layers, 2 cores, docs/BENCHMARKS.md");

    public LatencyModel {
        requireCoefficient("base", baseMs);
        requireCoefficient("per-token", perTokenMs);
        requireCoefficient("per-sequence", perSequenceMs);
        if (source == null || source.isBlank()) throw new IllegalArgumentException("a latency model needs a source");
    }

    private static void requireCoefficient(String name, double ms) {
        if (!(ms >= 0) || Double.isInfinite(ms))
            throw new IllegalArgumentException("the " + name + " latency must be a finite number of milliseconds >= 0, got " + ms);
    }

    /**
     * Parses {@code "A,B,C"} (milliseconds per step, per token, per sequence), as {@code --sim-latency} takes it.
     *
     * @throws IllegalArgumentException for anything else, in one sentence
     */
    public static LatencyModel parse(String abc, String source) {
        String[] parts = abc == null ? new String[0] : abc.split(",", -1);
        if (parts.length != 3)
            throw new IllegalArgumentException("a latency model is three numbers of milliseconds A,B,C (per step, per "
                    + "token, per sequence), e.g. " + DEFAULT.flag() + "; got '" + abc + "'");
        double[] v = new double[3];
        for (int i = 0; i < 3; i++) {
            try {
                v[i] = Double.parseDouble(parts[i].trim());
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("'" + parts[i].trim() + "' in the latency model '" + abc + "' is not a number");
            }
        }
        return new LatencyModel(v[0], v[1], v[2], source);
    }

    /** The same constants, credited to {@code source}. */
    public LatencyModel withSource(String source) { return new LatencyModel(baseMs, perTokenMs, perSequenceMs, source); }

    /** Milliseconds a step of {@code tokens} tokens over {@code sequences} sequences takes on the whole model. */
    public double stepMillis(int tokens, int sequences) {
        return baseMs + perTokenMs * tokens + perSequenceMs * sequences;
    }

    /**
     * Nanoseconds the same step takes on a stage holding {@code share} (0, 1] of the model's layers.
     */
    public long stepNanos(int tokens, int sequences, double share) {
        if (!(share > 0 && share <= 1)) throw new IllegalArgumentException("a stage's share of the layers must be in (0, 1], got " + share);
        return Math.round(stepMillis(tokens, sequences) * share * 1e6);
    }

    /** The constants as {@code --sim-latency} takes them: {@code "A,B,C"}. */
    public String flag() {
        return String.format(Locale.ROOT, "%s,%s,%s", number(baseMs), number(perTokenMs), number(perSequenceMs));
    }

    /** For reports: {@code "sim latency: 47.2 ms + 9.440 ms/token + 20.40 ms/sequence per step (source)"}. */
    public String describe() {
        return String.format(Locale.ROOT, "sim latency: %.1f ms + %.3f ms/token + %.2f ms/sequence per step (%s)",
                baseMs, perTokenMs, perSequenceMs, source);
    }

    @Override
    public String toString() { return describe(); }

    private static String number(double v) {
        String s = String.format(Locale.ROOT, "%.4f", v);
        s = s.replaceAll("0+$", "");
        return s.endsWith(".") ? s.substring(0, s.length() - 1) : s;
    }
}
