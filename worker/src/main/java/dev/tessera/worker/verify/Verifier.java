package dev.tessera.worker.verify;

import dev.tessera.worker.backend.Backend;
import dev.tessera.worker.checkpoint.Checkpoint;
import dev.tessera.worker.engine.BlockPool;
import dev.tessera.worker.engine.LocalPipeline;
import dev.tessera.worker.engine.SamplingParams;
import dev.tessera.worker.engine.SequenceChunk;
import dev.tessera.worker.engine.ShardOutput;
import dev.tessera.worker.engine.ShardStep;
import dev.tessera.worker.model.ModelConfig;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * Checks the engine against a golden file from transformers: one prefill of the golden input ids, the same ids
 * again one token at a time through the KV cache, the residual stream after every layer, and greedy generation.
 * The layers are split over {@code stages} shards that pass hidden states as bytes, as a pipeline would.
 */
public final class Verifier {

    /** Maximum absolute logit error (the fixture's logits have a standard deviation of about 1.1). */
    public static final double LOGIT_TOLERANCE = 2e-3;
    /** Maximum of |engine − golden| over max |golden|, for each residual-stream checkpoint. */
    public static final double HIDDEN_TOLERANCE = 1e-4;

    public record Options(Path model, Path golden, int stages, int kvBlockSize) {
        public Options {
            if (stages < 1) throw new IllegalArgumentException("--stages must be at least 1");
            if (kvBlockSize < 1) throw new IllegalArgumentException("--kv-block-size must be at least 1");
        }
    }

    public record Result(double maxAbsLogitErr, double maxRelHiddenErr, int greedyMatched, int greedySteps, boolean pass) {
        public String summary() {
            return String.format(Locale.ROOT, "verify: max_abs_logit_err=%.3g max_rel_hidden_err=%.3g greedy=%d/%d %s",
                    maxAbsLogitErr, maxRelHiddenErr, greedyMatched, greedySteps, pass ? "PASS" : "FAIL");
        }
    }

    private final Consumer<String> out;
    private boolean pass = true;

    private Verifier(Consumer<String> out) { this.out = out; }

    public static Result run(Options o, Supplier<Backend> backends, Consumer<String> out) throws IOException {
        return new Verifier(out).verify(o, backends);
    }

    private Result verify(Options o, Supplier<Backend> backends) throws IOException {
        ModelConfig config = ModelConfig.load(o.model());
        Golden g = Golden.load(o.golden());
        int t = g.tokens(), v = config.vocabSize(), h = config.hiddenSize();
        if (g.vocab() != v || g.hiddenWidth() != h || g.hidden().length != config.numLayers() + 1)
            throw new IllegalArgumentException(o.golden() + " does not belong to " + o.model() + ": golden vocab "
                    + g.vocab() + ", hidden " + g.hiddenWidth() + ", " + g.hidden().length + " hidden states; config vocab "
                    + v + ", hidden " + h + ", " + (config.numLayers() + 1) + " hidden states");
        line("model %s: %d layers, hidden %d, %d experts (%d per token), %d heads / %d KV heads of %d, vocab %d, window %d",
                o.model(), config.numLayers(), h, config.numExperts(), config.expertsPerToken(), config.numHeads(),
                config.numKvHeads(), config.headDim(), v, config.slidingWindow());
        line("golden %s: %d input ids, %d greedy tokens after %d", o.golden(), t, g.genTokens().length, g.genPromptLen());

        int blocks = 2 * ((t + g.genTokens().length) / o.kvBlockSize() + 2);
        try (Checkpoint ckpt = Checkpoint.open(o.model());
             LocalPipeline pipeline = LocalPipeline.load(ckpt, config, o.stages(), blocks, o.kvBlockSize(), backends)) {
            line("stages: %s", pipeline.shards().stream()
                    .map(s -> "[" + s.spec().firstLayer() + "," + s.spec().lastLayer() + ")").toList());
            BlockPool pool = new BlockPool(blocks, o.kvBlockSize());

            // 1. The whole input as one prefill, with the residual stream traced after every layer.
            int[] table = pool.grow(new int[0], t);
            ShardOutput prefill = pipeline.run(new ShardStep(
                    List.of(new SequenceChunk(1, g.inputIds(), 0, table, false, SamplingParams.GREEDY)), null, true, true));
            pool.release(table);
            double prefillErr = maxAbsDiff(prefill.logits(), g.logits());
            check(prefillErr <= LOGIT_TOLERANCE, "prefill: %d tokens in one step, max_abs_logit_err=%.3g (tolerance %.0e)",
                    t, prefillErr, LOGIT_TOLERANCE);
            double hiddenErr = 0;
            for (int i = 0; i <= config.numLayers(); i++) {
                float[] mine = prefill.trace().get(i == config.numLayers() ? ShardOutput.FINAL_NORM : i);
                hiddenErr = Math.max(hiddenErr, maxAbsDiff(mine, g.hidden()[i]) / maxAbs(g.hidden()[i]));
            }
            check(hiddenErr <= HIDDEN_TOLERANCE, "hidden states: %d checkpoints (embedding, layers, final norm), "
                    + "max_rel_err=%.3g (tolerance %.0e)", config.numLayers() + 1, hiddenErr, HIDDEN_TOLERANCE);

            // 2. The same ids one token at a time through the KV cache.
            float[] stepwise = new float[t * v];
            table = new int[0];
            for (int p = 0; p < t; p++) {
                table = pool.grow(table, p + 1);
                ShardOutput step = pipeline.run(new ShardStep(List.of(new SequenceChunk(2, new int[] {g.inputIds()[p]}, p,
                        table, false, SamplingParams.GREEDY)), null, true, false));
                System.arraycopy(step.logits(), 0, stepwise, p * v, v);
            }
            pool.release(table);
            double decodeErr = maxAbsDiff(stepwise, g.logits());
            check(decodeErr <= LOGIT_TOLERANCE, "decode: %d tokens one at a time through the KV cache, "
                    + "max_abs_logit_err=%.3g (tolerance %.0e)", t, decodeErr, LOGIT_TOLERANCE);
            double consistency = maxAbsDiff(stepwise, prefill.logits());
            check(consistency <= LOGIT_TOLERANCE, "prefill vs decode: max_abs_logit_diff=%.3g", consistency);

            // 3. Greedy generation, fed the golden tokens so every step stays comparable.
            double err = Math.max(prefillErr, decodeErr);
            int[] gen = g.genTokens();
            int matched = 0, unchecked = 0;
            int[] prompt = Arrays.copyOf(g.inputIds(), g.genPromptLen());
            table = pool.grow(new int[0], prompt.length);
            ShardOutput next = pipeline.run(ShardStep.of(List.of(
                    new SequenceChunk(3, prompt, 0, table, true, SamplingParams.GREEDY))));
            StringBuilder mismatches = new StringBuilder();
            for (int i = 0; i < gen.length; i++) {
                int token = next.sampled().getFirst().token();
                if (token == gen[i]) matched++;
                else if (g.genMargins()[i] > err) {
                    pass = false;
                    mismatches.append(String.format(Locale.ROOT, " step %d: %d != %d (margin %.3g)", i, token, gen[i], g.genMargins()[i]));
                } else {
                    unchecked++;
                }
                if (i + 1 == gen.length) break;
                int pos = prompt.length + i;
                table = pool.grow(table, pos + 1);
                next = pipeline.run(ShardStep.of(List.of(new SequenceChunk(3, new int[] {gen[i]}, pos, table, true,
                        SamplingParams.GREEDY))));
            }
            pool.release(table);
            line("greedy: %d/%d tokens equal gen_tokens (%d steps with a margin under the measured error %.3g)%s %s",
                    matched, gen.length, unchecked, err, mismatches, mismatches.isEmpty() ? "OK" : "FAIL");
            return new Result(err, hiddenErr, matched, gen.length, pass);
        }
    }

    private void check(boolean ok, String format, Object... args) {
        if (!ok) pass = false;
        line(format + (ok ? " OK" : " FAIL"), args);
    }

    private void line(String format, Object... args) {
        out.accept(String.format(Locale.ROOT, format, args));
    }

    static double maxAbsDiff(float[] a, float[] b) {
        if (a.length != b.length) throw new IllegalArgumentException("lengths differ: " + a.length + " vs " + b.length);
        double m = 0;
        for (int i = 0; i < a.length; i++) {
            double d = Math.abs((double) a[i] - b[i]);
            if (!(d <= m)) m = d; // NaN sticks
        }
        return m;
    }

    static double maxAbs(float[] a) {
        double m = 1e-30;
        for (float x : a) m = Math.max(m, Math.abs(x));
        return m;
    }
}
