package dev.tessera.worker.verify;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.worker.backend.CpuBackend;
import dev.tessera.worker.checkpoint.Checkpoint;
import dev.tessera.worker.checkpoint.DType;
import dev.tessera.worker.checkpoint.SafetensorsWriter;
import dev.tessera.worker.checkpoint.SyntheticCheckpoint;
import dev.tessera.worker.model.ModelConfig;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Verify on checkpoints of shapes the fixture does not have, with golden files written by {@link ReferenceModel}
 * (an independent float64 implementation): other head sizes, windows, expert counts, k, GQA ratios and lengths.
 */
class UnseenCheckpointTest {

    @ParameterizedTest(name = "layers={0} experts={1} k={2} hidden={3} inter={4} heads={5}/{6}x{7} vocab={8} window={9} seq={10} stages={11}")
    @CsvSource({
            "3, 4, 2, 64, 96, 6, 2, 16, 300, 5, 24, 3",
            "2, 8, 4, 96, 32, 4, 4, 24, 128, 16, 40, 2",
            "4, 16, 1, 32, 64, 8, 1, 8, 1000, 3, 30, 4",
    })
    void passesWithGoldensItHasNeverSeen(int layers, int experts, int k, int hidden, int inter, int heads, int kvHeads,
                                         int headDim, int vocab, int window, int seq, int stages,
                                         @TempDir Path dir) throws Exception {
        SyntheticCheckpoint.Shape shape = new SyntheticCheckpoint.Shape(layers, experts, k, hidden, inter, heads, kvHeads,
                headDim, vocab, window, 31L * layers + experts);
        SyntheticCheckpoint.write(dir, shape);
        Path golden = dir.resolve("golden.safetensors");
        writeGolden(dir, golden, seq, 8);

        List<String> lines = new ArrayList<>();
        Verifier.Result r = Verifier.run(new Verifier.Options(dir, golden, stages, 4), () -> new CpuBackend(2), lines::add);
        lines.forEach(System.out::println);
        assertTrue(r.pass(), () -> String.join("\n", lines));
        assertTrue(r.maxAbsLogitErr() < 1e-3, "logit error " + r.maxAbsLogitErr());
        assertEquals(8, r.greedySteps());
    }

    @org.junit.jupiter.api.Test
    void theReferenceModelItselfMatchesTransformersOnTheFixture() throws Exception {
        Path tiny = dev.tessera.worker.Fixtures.tiny();
        Golden g = Golden.load(tiny.resolve("golden.safetensors"));
        try (Checkpoint ckpt = Checkpoint.open(tiny)) {
            ReferenceModel.Output o = new ReferenceModel(ckpt, ModelConfig.load(tiny)).forward(g.inputIds());
            float[] logits = flatten(o.logits());
            assertTrue(Verifier.maxAbsDiff(logits, g.logits()) < 2e-4, "reference model vs transformers");
        }
    }

    /** A golden file in hf_golden.py's layout, computed by the reference model. */
    static void writeGolden(Path model, Path out, int seq, int gen) throws Exception {
        ModelConfig c = ModelConfig.load(model);
        try (Checkpoint ckpt = Checkpoint.open(model)) {
            ReferenceModel ref = new ReferenceModel(ckpt, c);
            SplittableRandom random = new SplittableRandom(seq);
            int[] ids = new int[seq];
            for (int i = 0; i < seq; i++) ids[i] = random.nextInt(c.vocabSize());
            ReferenceModel.Output o = ref.forward(ids);
            int promptLen = seq / 2;
            int[] tokens = java.util.Arrays.copyOf(ids, promptLen + gen);
            int[] generated = new int[gen];
            float[] margins = new float[gen];
            for (int i = 0; i < gen; i++) {
                double[] logits = ref.forward(java.util.Arrays.copyOf(tokens, promptLen + i)).logits()[promptLen + i - 1];
                int best = 0, second = -1;
                for (int v = 1; v < logits.length; v++) if (logits[v] > logits[best]) best = v;
                for (int v = 0; v < logits.length; v++) if (v != best && (second < 0 || logits[v] > logits[second])) second = v;
                generated[i] = best;
                margins[i] = (float) (logits[best] - logits[second]);
                tokens[promptLen + i] = best;
            }
            float[] flatLogits = flatten(o.logits());
            float[] flatHidden = new float[(c.numLayers() + 1) * seq * c.hiddenSize()];
            int at = 0;
            for (double[][] state : o.hidden()) for (double[] row : state) for (double v : row) flatHidden[at++] = (float) v;
            new SafetensorsWriter()
                    .metadata("source", "ReferenceModel, float64")
                    .addInts("input_ids", DType.I32, new long[] {seq}, ids)
                    .addFloats("logits", DType.F32, new long[] {seq, c.vocabSize()}, flatLogits)
                    .addFloats("hidden_states", DType.F32, new long[] {c.numLayers() + 1, seq, c.hiddenSize()}, flatHidden)
                    .addInts("gen_prompt_len", DType.I32, new long[] {1}, new int[] {promptLen})
                    .addInts("gen_tokens", DType.I32, new long[] {gen}, generated)
                    .addFloats("gen_margins", DType.F32, new long[] {gen}, margins)
                    .write(out);
        }
    }

    private static float[] flatten(double[][] m) {
        float[] out = new float[m.length * m[0].length];
        for (int i = 0; i < m.length; i++) for (int j = 0; j < m[i].length; j++) out[i * m[0].length + j] = (float) m[i][j];
        return out;
    }
}
