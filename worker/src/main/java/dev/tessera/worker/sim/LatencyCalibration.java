package dev.tessera.worker.sim;

import dev.tessera.worker.engine.BlockPool;
import dev.tessera.worker.engine.LocalPipeline;
import dev.tessera.worker.engine.SamplingParams;
import dev.tessera.worker.engine.SequenceChunk;
import dev.tessera.worker.engine.ShardStep;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.function.Consumer;

/**
 * Derives a {@link LatencyModel} from the real engine: times steps of a few shapes ({@link #measure}) and fits
 * {@code a + b·tokens + c·sequences} to them ({@link #fit}).
 *
 * <p>The fit is least squares on relative error (each step weighted by {@code 1 / millis²}), so that a 60 ms decode
 * step counts as much as a 1 s prefill, with every coefficient kept at 0 or above: of the fits over every subset of
 * the three terms, the one with the smallest error whose coefficients are all non-negative (exact non-negative least
 * squares for three unknowns).
 */
public final class LatencyCalibration {

    private LatencyCalibration() {}

    /** One timed step: {@code sequences} chunks of {@code tokens / sequences} tokens each took {@code millis}. */
    public record Sample(int tokens, int sequences, double millis) {
        public Sample {
            if (sequences < 1 || tokens < sequences)
                throw new IllegalArgumentException("a step has at least one sequence and a token per sequence, got "
                        + tokens + " tokens over " + sequences + " sequences");
            if (!(millis > 0) || Double.isInfinite(millis)) throw new IllegalArgumentException("a step's time must be positive, got " + millis);
        }
    }

    /**
     * A step shape to time: {@code sequences} chunks of {@code tokensPerSequence} tokens, each starting at position
     * {@code start} (after an untimed prefill of {@code start} tokens). {@code (16, 1, 32)} is a decode step of 16
     * sequences at context 32; {@code (1, 128, 0)} a 128-token prefill.
     */
    public record Shape(int sequences, int tokensPerSequence, int start) {
        public Shape {
            if (sequences < 1 || tokensPerSequence < 1 || start < 0)
                throw new IllegalArgumentException("a step shape needs sequences >= 1, tokens >= 1 and start >= 0");
        }

        public int tokens() { return sequences * tokensPerSequence; }

        @Override
        public String toString() {
            return tokensPerSequence == 1 ? "decode, batch " + sequences + " at position " + start
                    : sequences + " x " + tokensPerSequence + "-token prefill" + (start > 0 ? " from position " + start : "");
        }
    }

    /** The shapes {@code bench sim-calibration} times by default: decode at four batch sizes, prefills and a mix. */
    public static final List<Shape> DEFAULT_SHAPES = List.of(
            new Shape(1, 1, 32), new Shape(4, 1, 32), new Shape(16, 1, 32), new Shape(32, 1, 32),
            new Shape(1, 32, 0), new Shape(1, 128, 0), new Shape(1, 256, 0), new Shape(4, 64, 0));

    /**
     * A fitted model and how well it fits.
     *
     * @param model            the fitted constants
     * @param samples          what it was fitted to
     * @param rmsRelativeError root mean square of {@code (fitted - measured) / measured}
     * @param maxRelativeError the largest {@code |fitted - measured| / measured}
     */
    public record Fit(LatencyModel model, List<Sample> samples, double rmsRelativeError, double maxRelativeError) {
        public Fit {
            samples = List.copyOf(samples);
        }

        /** One line per sample: shape, measured, fitted, error. */
        public List<String> table() {
            List<String> lines = new ArrayList<>();
            for (Sample s : samples) {
                double fitted = model.stepMillis(s.tokens(), s.sequences());
                lines.add(String.format(Locale.ROOT, "%d tokens, %d sequences: measured %.1f ms, fitted %.1f ms (%+.0f%%)",
                        s.tokens(), s.sequences(), s.millis(), fitted, 100 * (fitted - s.millis()) / s.millis()));
            }
            return lines;
        }
    }

    /**
     * Fits {@code a + b·tokens + c·sequences} to {@code samples}; see the class comment.
     *
     * @throws IllegalArgumentException when fewer than three samples are given, or when they cannot tell the
     *                                  per-token cost from the per-sequence one (every sample has one token per
     *                                  sequence: add prefill steps)
     */
    public static Fit fit(List<Sample> samples, String source) {
        if (samples.size() < 3) throw new IllegalArgumentException("fitting three constants needs at least three samples, got " + samples.size());
        if (samples.stream().allMatch(s -> s.tokens() == s.sequences()))
            throw new IllegalArgumentException("every sample is a decode step (one token per sequence), so the per-token and "
                    + "per-sequence costs cannot be told apart; time some prefill steps too");
        double[] best = null;
        double bestError = Double.POSITIVE_INFINITY;
        for (int mask = 1; mask < 8; mask++) {
            double[] c = solve(samples, mask);
            if (c == null || c[0] < 0 || c[1] < 0 || c[2] < 0) continue;
            double e = sumSquaredRelative(samples, c);
            if (e < bestError - 1e-15) {
                bestError = e;
                best = c;
            }
        }
        if (best == null) throw new IllegalArgumentException("no non-negative latency model fits the samples");
        LatencyModel model = new LatencyModel(best[0], best[1], best[2], source);
        double max = 0;
        for (Sample s : samples) max = Math.max(max, Math.abs(relative(s, best)));
        return new Fit(model, samples, Math.sqrt(bestError / samples.size()), max);
    }

    /** Weighted least squares over the terms in {@code mask} (bit 0: base, 1: per token, 2: per sequence); null if singular. */
    private static double[] solve(List<Sample> samples, int mask) {
        int[] terms = new int[Integer.bitCount(mask)];
        for (int t = 0, k = 0; t < 3; t++) if ((mask & (1 << t)) != 0) terms[k++] = t;
        int n = terms.length;
        double[][] a = new double[n][n + 1];
        for (Sample s : samples) {
            double w = 1 / (s.millis() * s.millis());
            double[] x = {1, s.tokens(), s.sequences()};
            for (int i = 0; i < n; i++) {
                for (int j = 0; j < n; j++) a[i][j] += w * x[terms[i]] * x[terms[j]];
                a[i][n] += w * x[terms[i]] * s.millis();
            }
        }
        double[] sol = gauss(a);
        if (sol == null) return null;
        double[] c = new double[3];
        for (int i = 0; i < n; i++) c[terms[i]] = sol[i];
        return c;
    }

    /** Solves the augmented system in place by Gaussian elimination with partial pivoting; null if singular. */
    private static double[] gauss(double[][] a) {
        int n = a.length;
        double scale = 0;
        for (double[] row : a) for (int j = 0; j < n; j++) scale = Math.max(scale, Math.abs(row[j]));
        for (int col = 0; col < n; col++) {
            int pivot = col;
            for (int r = col + 1; r < n; r++) if (Math.abs(a[r][col]) > Math.abs(a[pivot][col])) pivot = r;
            if (Math.abs(a[pivot][col]) <= 1e-12 * scale) return null;
            double[] tmp = a[col];
            a[col] = a[pivot];
            a[pivot] = tmp;
            for (int r = 0; r < n; r++) {
                if (r == col) continue;
                double f = a[r][col] / a[col][col];
                for (int k = col; k <= n; k++) a[r][k] -= f * a[col][k];
            }
        }
        double[] x = new double[n];
        for (int i = 0; i < n; i++) x[i] = a[i][n] / a[i][i];
        return x;
    }

    private static double relative(Sample s, double[] c) {
        return (c[0] + c[1] * s.tokens() + c[2] * s.sequences() - s.millis()) / s.millis();
    }

    private static double sumSquaredRelative(List<Sample> samples, double[] c) {
        double sum = 0;
        for (Sample s : samples) {
            double r = relative(s, c);
            sum += r * r;
        }
        return sum;
    }

    /**
     * Times each shape on the engine: one untimed run of every shape first (JIT and page-cache warm-up), then
     * {@code repeats} timed runs, of which the fastest is the sample. NOTE: the fastest, not the median: other
     * processes on a shared machine only ever add time, so the fastest run is the best estimate of the engine's own
     * cost. Greedy sampling, random token ids; each run's blocks are taken from {@code pool} and given back.
     *
     * @param vocab the model's vocabulary size (token ids are drawn below it)
     * @param out   told one line per shape
     */
    public static List<Sample> measure(LocalPipeline pipeline, BlockPool pool, int vocab, List<Shape> shapes, int repeats,
                                       Consumer<String> out) {
        if (repeats < 1) throw new IllegalArgumentException("repeats must be >= 1");
        SplittableRandom random = new SplittableRandom(11);
        for (Shape s : shapes) time(pipeline, pool, vocab, s, random);
        List<Sample> samples = new ArrayList<>();
        for (Shape s : shapes) {
            double[] ms = new double[repeats];
            for (int r = 0; r < repeats; r++) ms[r] = time(pipeline, pool, vocab, s, random);
            Arrays.sort(ms);
            double median = repeats % 2 == 1 ? ms[repeats / 2] : (ms[repeats / 2 - 1] + ms[repeats / 2]) / 2;
            samples.add(new Sample(s.tokens(), s.sequences(), ms[0]));
            out.accept(String.format(Locale.ROOT, "%s: %.1f ms (fastest of %d; median %.1f, slowest %.1f)", s, ms[0], repeats,
                    median, ms[repeats - 1]));
        }
        return samples;
    }

    /** Milliseconds of one step of {@code shape}, after an untimed prefill up to its start position. */
    private static double time(LocalPipeline pipeline, BlockPool pool, int vocab, Shape shape, SplittableRandom random) {
        int[][] tables = new int[shape.sequences()][];
        try {
            List<SequenceChunk> context = new ArrayList<>(), timed = new ArrayList<>();
            for (int s = 0; s < shape.sequences(); s++) {
                tables[s] = pool.grow(new int[0], shape.start() + shape.tokensPerSequence());
                if (shape.start() > 0)
                    context.add(new SequenceChunk(s, tokens(random, vocab, shape.start()), 0, tables[s], false, SamplingParams.GREEDY));
                timed.add(new SequenceChunk(s, tokens(random, vocab, shape.tokensPerSequence()), shape.start(), tables[s], true,
                        SamplingParams.GREEDY));
            }
            if (!context.isEmpty()) pipeline.run(ShardStep.of(context));
            long start = System.nanoTime();
            pipeline.run(ShardStep.of(timed));
            return (System.nanoTime() - start) / 1e6;
        } finally {
            for (int[] t : tables) if (t != null) pool.release(t);
        }
    }

    private static int[] tokens(SplittableRandom random, int vocab, int n) {
        int[] t = new int[n];
        for (int i = 0; i < n; i++) t[i] = random.nextInt(vocab);
        return t;
    }
}
