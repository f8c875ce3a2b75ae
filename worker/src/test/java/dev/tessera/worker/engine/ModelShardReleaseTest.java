package dev.tessera.worker.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.worker.Fixtures;
import dev.tessera.worker.backend.AttentionBatch;
import dev.tessera.worker.backend.Backend;
import dev.tessera.worker.backend.ScalarBackend;
import dev.tessera.worker.checkpoint.Checkpoint;
import dev.tessera.worker.checkpoint.Tensor;
import dev.tessera.worker.model.ModelConfig;
import dev.tessera.worker.verify.Golden;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** A step gives every activation it allocates back to the backend, once, whether it returns or throws. */
class ModelShardReleaseTest {

    /** The scalar backend, keeping account of the activations handed out and given back. */
    static final class Accounting implements Backend {
        final ScalarBackend inner = new ScalarBackend();
        final Set<Activations> live = Collections.newSetFromMap(new IdentityHashMap<>());
        int handedOut, released;

        Activations track(Activations a) {
            live.add(a);
            handedOut++;
            return a;
        }

        @Override public void release(Activations a) {
            assertTrue(live.remove(a), "released twice, or never handed out");
            released++;
        }

        @Override public Activations allocate(int rows, int cols) { return track(inner.allocate(rows, cols)); }
        @Override public Activations upload(float[] data, int rows, int cols) { return track(inner.upload(data, rows, cols)); }
        @Override public String name() { return "accounting"; }
        @Override public Matrix matrix(Tensor t) { return inner.matrix(t); }
        @Override public Vec vec(Tensor t) { return inner.vec(t); }
        @Override public Experts experts(Tensor a, Tensor b, Tensor c, Tensor d, Tensor e, Tensor f) {
            return inner.experts(a, b, c, d, e, f);
        }
        @Override public float[] download(Activations a) { return inner.download(a); }
        @Override public KvCache allocateKv(int layers, int blocks, int blockSize, int kvHeads, int headDim) {
            return inner.allocateKv(layers, blocks, blockSize, kvHeads, headDim);
        }
        @Override public void embed(int[] tokens, Matrix table, Activations out) { inner.embed(tokens, table, out); }
        @Override public void rmsNorm(Activations x, Vec gain, float eps, Activations out) { inner.rmsNorm(x, gain, eps, out); }
        @Override public void linear(Activations x, Matrix w, Vec bias, Activations out) { inner.linear(x, w, bias, out); }
        @Override public void rope(Activations x, int headDim, int[] positions, float[] invFreq, float concentration) {
            inner.rope(x, headDim, positions, invFreq, concentration);
        }
        @Override public void writeKv(Activations k, Activations v, KvCache cache, int layer, int[] slots) {
            inner.writeKv(k, v, cache, layer, slots);
        }
        @Override public void attention(Activations q, KvCache cache, int layer, AttentionBatch batch, Vec sinks, int window,
                                        float scale, Activations out) {
            inner.attention(q, cache, layer, batch, sinks, window, scale, out);
        }
        @Override public void moe(Activations x, Moe moe, Activations out) { inner.moe(x, moe, out); }
        @Override public void gather(Activations x, int[] rows, Activations out) { inner.gather(x, rows, out); }
        @Override public void add(Activations x, Activations y) { inner.add(x, y); }
        @Override public void close() { inner.close(); }
    }

    @Test
    void everyStageGivesBackItsActivations() throws Exception {
        var tiny = Fixtures.tiny();
        ModelConfig config = ModelConfig.load(tiny);
        int[] ids = Golden.load(tiny.resolve("golden.safetensors")).inputIds();
        List<Accounting> backends = new ArrayList<>();
        try (Checkpoint ckpt = Checkpoint.open(tiny);
             LocalPipeline p = LocalPipeline.load(ckpt, config, 3, 16, 4, () -> {
                 Accounting b = new Accounting();
                 backends.add(b);
                 return b;
             })) {
            int[] table = {3, 1, 4};
            p.run(new ShardStep(List.of(new SequenceChunk(1, Arrays.copyOf(ids, 9), 0, table, true, SamplingParams.GREEDY)),
                    null, true, true));
            p.run(ShardStep.of(List.of(new SequenceChunk(1, new int[] {ids[9]}, 9, table, true, SamplingParams.GREEDY))));
            for (Accounting b : backends) {
                assertTrue(b.handedOut > 0);
                assertEquals(b.handedOut, b.released, "every activation of both steps is given back");
                assertTrue(b.live.isEmpty());
            }
            // a step that fails halfway (a token outside the vocabulary) gives back what it had allocated too
            int vocab = config.vocabSize();
            var e = assertThrows(IllegalArgumentException.class, () -> p.run(ShardStep.of(List.of(
                    new SequenceChunk(2, new int[] {1, vocab}, 0, new int[] {7}, true, SamplingParams.GREEDY)))));
            assertTrue(e.getMessage().startsWith("token id " + vocab), e.getMessage());
            assertTrue(backends.getFirst().live.isEmpty(), "the failed step's activations are given back");
        }
    }
}
