package dev.tessera.worker.backend;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.tessera.worker.backend.Backend.Activations;
import dev.tessera.worker.backend.HostBackend.HostKvCache;
import java.util.function.Supplier;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The sliding mask at its boundary (gpt-oss.md §8): at query position 200 with a 128-key window the visible keys are
 * exactly 73..200. With a zero query every visible key scores 0, so the attention weights are 1/(n + e^sink): a value
 * of 1 counts the visible keys and a value equal to the key's position sums them.
 */
class SlidingWindowTest {

    static Stream<Supplier<Backend>> backends() {
        return Stream.of(ScalarBackend::new, () -> new CpuBackend(2));
    }

    @ParameterizedTest
    @MethodSource("backends")
    void windowOf128KeysIncludesTheQueryItself(Supplier<Backend> factory) {
        try (Backend b = factory.get()) {
            int blockSize = 16, positions = 201, headDim = 2;
            HostKvCache kv = (HostKvCache) b.allocateKv(1, 16, blockSize, 1, headDim);
            int[] table = new int[13];
            for (int i = 0; i < table.length; i++) table[i] = 12 - i; // blocks out of order on purpose
            AttentionBatch batch = new AttentionBatch(new int[] {200}, new int[] {0}, new int[][] {table}, blockSize);
            float[] keys = new float[positions * headDim], values = new float[positions * headDim];
            int[] slots = new int[positions];
            for (int p = 0; p < positions; p++) {
                values[p * headDim] = 1f;
                values[p * headDim + 1] = p;
                slots[p] = table[p / blockSize] * blockSize + p % blockSize;
            }
            b.writeKv(b.upload(keys, positions, headDim), b.upload(values, positions, headDim), kv, 0, slots);
            Backend.Vec sink = b.vec(FakeTensors.bf16("sinks", new float[] {0f}, 1));
            Activations q = b.upload(new float[headDim], 1, headDim), out = b.allocate(1, headDim);

            b.attention(q, kv, 0, batch, sink, 128, 0.125f, out);
            float[] o = b.download(out);
            assertEquals(128.0 / 129, o[0], 1e-6, "128 visible keys plus the sink");
            assertEquals((73 + 200) * 128 / 2.0 / 129, o[1], 1e-3, "keys 73..200");

            b.attention(q, kv, 0, batch, sink, 0, 0.125f, out);
            o = b.download(out);
            assertEquals(201.0 / 202, o[0], 1e-6, "full attention sees keys 0..200");
            assertEquals(200 * 201 / 2.0 / 202, o[1], 1e-3);
        }
    }
}
