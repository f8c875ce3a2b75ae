package dev.tessera.worker.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.worker.Fixtures;
import dev.tessera.worker.backend.CpuBackend;
import dev.tessera.worker.backend.ScalarBackend;
import dev.tessera.worker.checkpoint.Checkpoint;
import dev.tessera.worker.model.ModelConfig;
import dev.tessera.worker.verify.Golden;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * One step may carry any mix of sequences: a prefill chunk of one next to the decode token of another, each at its
 * own position with its own scattered KV blocks. The logits must not depend on the company a sequence keeps.
 */
class BatchingTest {

    @Test
    void chunkedAndBatchedPrefillEqualsOneShot() throws Exception {
        var tiny = Fixtures.tiny();
        ModelConfig config = ModelConfig.load(tiny);
        Golden golden = Golden.load(tiny.resolve("golden.safetensors"));
        int[] ids = golden.inputIds();
        int v = config.vocabSize();
        try (Checkpoint ckpt = Checkpoint.open(tiny);
             LocalPipeline pipeline = LocalPipeline.load(ckpt, config, 2, 64, 4, () -> new CpuBackend(2))) {
            // Sequence A: all 40 tokens at once.
            int[] tableA = {5, 9, 2, 31, 7, 11, 13, 0, 3, 17};
            ShardOutput whole = pipeline.run(new ShardStep(List.of(new SequenceChunk(1, ids, 0, tableA, false,
                    SamplingParams.GREEDY)), null, true, false));

            // Sequence B: the same tokens in a chunk of 17, then a chunk of 23 sharing a step with sequence C,
            // which decodes one token at a time at other positions, on other blocks.
            int[] tableB = {40, 41, 20, 21, 60, 61, 22, 23, 50, 51};
            int[] tableC = {30, 33, 34};
            pipeline.run(ShardStep.of(List.of(new SequenceChunk(2, Arrays.copyOf(ids, 17), 0, tableB, false, SamplingParams.GREEDY),
                    new SequenceChunk(3, Arrays.copyOf(ids, 9), 0, tableC, true, SamplingParams.GREEDY))));
            ShardOutput mixed = pipeline.run(new ShardStep(List.of(
                    new SequenceChunk(3, new int[] {ids[9]}, 9, tableC, true, SamplingParams.GREEDY),
                    new SequenceChunk(2, Arrays.copyOfRange(ids, 17, 40), 17, tableB, true, SamplingParams.GREEDY)),
                    null, true, false));
            assertEquals(24, mixed.logitRows());
            float[] tail = Arrays.copyOfRange(mixed.logits(), v, 24 * v);
            float[] expectedTail = Arrays.copyOfRange(whole.logits(), 17 * v, 40 * v);
            assertClose(expectedTail, tail, 1e-4f);
            float[] cDecode = Arrays.copyOf(mixed.logits(), v);
            assertClose(Arrays.copyOfRange(whole.logits(), 9 * v, 10 * v), cDecode, 1e-4f);
            assertEquals(2, mixed.sampled().size());
            assertEquals(3, mixed.sampled().get(0).seqId());
        }
    }

    @Test
    void cpuAndScalarBackendsAgreeOnTheWholeModel() throws Exception {
        var tiny = Fixtures.tiny();
        ModelConfig config = ModelConfig.load(tiny);
        int[] ids = Golden.load(tiny.resolve("golden.safetensors")).inputIds();
        List<float[]> logits = new ArrayList<>();
        try (Checkpoint ckpt = Checkpoint.open(tiny)) {
            for (var factory : List.<java.util.function.Supplier<dev.tessera.worker.backend.Backend>>of(
                    ScalarBackend::new, () -> new CpuBackend(2))) {
                try (LocalPipeline p = LocalPipeline.load(ckpt, config, 1, 16, 8, factory)) {
                    logits.add(p.run(new ShardStep(List.of(new SequenceChunk(1, ids, 0, new int[] {0, 1, 2, 3, 4}, false,
                            SamplingParams.GREEDY)), null, true, false)).logits());
                }
            }
        }
        assertClose(logits.get(0), logits.get(1), 1e-4f);
    }

    @Test
    void aBlockTableThatDoesNotCoverTheChunkIsRejected() throws Exception {
        var tiny = Fixtures.tiny();
        ModelConfig config = ModelConfig.load(tiny);
        try (Checkpoint ckpt = Checkpoint.open(tiny);
             LocalPipeline p = LocalPipeline.load(ckpt, config, 1, 4, 4, ScalarBackend::new)) {
            var shortTable = assertThrows(IllegalArgumentException.class, () -> p.run(ShardStep.of(List.of(
                    new SequenceChunk(1, new int[] {1, 2, 3, 4, 5}, 0, new int[] {0}, true, SamplingParams.GREEDY)))));
            assertTrue(shortTable.getMessage().contains("block table holds 1 blocks"), shortTable.getMessage());
            var outside = assertThrows(IllegalArgumentException.class, () -> p.run(ShardStep.of(List.of(
                    new SequenceChunk(1, new int[] {1}, 0, new int[] {9}, true, SamplingParams.GREEDY)))));
            assertTrue(outside.getMessage().contains("KV block 9, outside 0..3"), outside.getMessage());
            var badToken = assertThrows(IllegalArgumentException.class, () -> p.run(ShardStep.of(List.of(
                    new SequenceChunk(1, new int[] {512}, 0, new int[] {0}, true, SamplingParams.GREEDY)))));
            assertTrue(badToken.getMessage().contains("outside the vocabulary"), badToken.getMessage());
        }
    }

    static void assertClose(float[] expected, float[] actual, float tolerance) {
        assertEquals(expected.length, actual.length);
        float worst = 0;
        for (int i = 0; i < expected.length; i++) worst = Math.max(worst, Math.abs(expected[i] - actual[i]));
        assertTrue(worst <= tolerance, "max abs difference " + worst + " > " + tolerance);
        assertArrayEquals(expected, actual, tolerance);
    }
}
