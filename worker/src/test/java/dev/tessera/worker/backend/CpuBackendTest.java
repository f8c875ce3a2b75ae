package dev.tessera.worker.backend;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.worker.backend.Backend.Activations;
import dev.tessera.worker.backend.Backend.KvCache;
import dev.tessera.worker.backend.Backend.Matrix;
import dev.tessera.worker.backend.Backend.Moe;
import dev.tessera.worker.backend.Backend.Vec;
import dev.tessera.worker.checkpoint.DType;
import dev.tessera.worker.checkpoint.Tensor;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Every {@link CpuBackend} op against {@link ScalarBackend} on seeded random inputs: one token, a few, many (33);
 * widths that are not a multiple of the vector length; one thread and two. The backends under test parallelise every
 * op however small (threshold 0), so the chunked paths run on these small shapes.
 *
 * <p>The kernels take the machine's preferred vector length; to check another, run this class with
 * {@code -Dtest.jvm.args="--add-modules jdk.incubator.vector -XX:MaxVectorSize=16"} (4 float lanes) or 32 (8 lanes).
 */
class CpuBackendTest {

    private static final double TOLERANCE = 1e-4;
    private static final int[] TOKEN_COUNTS = {1, 2, 3, 5, 16, 33};

    private final ScalarBackend ref = new ScalarBackend();
    private final Random random = new Random(42);

    private static CpuBackend cpu(int threads) { return new CpuBackend(threads, 0); }

    // ---- fixtures -------------------------------------------------------------------------------------------------

    private static Tensor bf16(String name, float[] values, long... shape) {
        byte[] bytes = new byte[values.length * 2];
        for (int i = 0; i < values.length; i++) {
            int bits = Float.floatToRawIntBits(values[i]) >>> 16;
            bytes[2 * i] = (byte) bits;
            bytes[2 * i + 1] = (byte) (bits >>> 8);
        }
        return new Tensor(name, DType.BF16, shape, MemorySegment.ofArray(bytes), Path.of("random"));
    }

    private static Tensor u8(String name, byte[] values, long... shape) {
        return new Tensor(name, DType.U8, shape, MemorySegment.ofArray(values), Path.of("random"));
    }

    private float[] gaussian(int n, double sigma) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) (random.nextGaussian() * sigma);
        return v;
    }

    private static void assertClose(String what, float[] expected, float[] actual) {
        assertEquals(expected.length, actual.length, what + ": length");
        double maxRef = 0, maxDiff = 0;
        for (int i = 0; i < expected.length; i++) {
            maxRef = Math.max(maxRef, Math.abs(expected[i]));
            maxDiff = Math.max(maxDiff, Math.abs(expected[i] - actual[i]));
        }
        double bound = TOLERANCE * (1 + maxRef);
        assertTrue(maxDiff <= bound, what + ": max |diff| " + maxDiff + " > " + bound + " (max |ref| " + maxRef + ")");
    }

    /** Runs the same op on both backends with fresh copies of the inputs and returns both outputs. */
    private interface Op {
        void run(Backend b, Activations out);
    }

    private void compare(String what, int threads, int rows, int cols, Op op) {
        try (CpuBackend cpu = cpu(threads)) {
            Activations want = ref.allocate(rows, cols), got = cpu.allocate(rows, cols);
            op.run(ref, want);
            op.run(cpu, got);
            assertClose(what, ref.download(want), cpu.download(got));
        }
    }

    // ---- element-wise and row ops ---------------------------------------------------------------------------------

    @ParameterizedTest
    @ValueSource(ints = {1, 2})
    void embedCopiesRowsExactly(int threads) {
        for (int cols : new int[] {40, 72}) {
            Tensor table = bf16("embed", gaussian(50 * cols, 1), 50, cols);
            int[] tokens = random.ints(33, 0, 50).toArray();
            tokens[3] = tokens[7];
            try (CpuBackend cpu = cpu(threads)) {
                Activations want = ref.allocate(33, cols), got = cpu.allocate(33, cols);
                ref.embed(tokens, ref.matrix(table), want);
                cpu.embed(tokens, cpu.matrix(table), got);
                assertArrayEquals(ref.download(want), cpu.download(got));
                assertThrows(IllegalArgumentException.class, () -> cpu.embed(new int[] {50}, cpu.matrix(table), got));
            }
        }
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 2})
    void rmsNormMatches(int threads) {
        for (int tokens : TOKEN_COUNTS)
            for (int cols : new int[] {40, 72, 128, 7}) {
                float[] x = gaussian(tokens * cols, 3);
                Tensor gain = bf16("gain", gaussian(cols, 1), cols);
                compare("rmsNorm " + tokens + "x" + cols, threads, tokens, cols,
                        (b, out) -> b.rmsNorm(b.upload(x, tokens, cols), b.vec(gain), 1e-5f, out));
            }
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 2})
    void linearMatches(int threads) {
        int[][] shapes = {{72, 40}, {37, 72}, {128, 128}, {13, 7}, {5, 300}, {1, 16}};
        for (int tokens : TOKEN_COUNTS)
            for (int[] shape : shapes) {
                int rows = shape[0], cols = shape[1];
                Tensor w = bf16("w", gaussian(rows * cols, 1), rows, cols);
                Tensor bias = bf16("b", gaussian(rows, 1), rows);
                float[] x = gaussian(tokens * cols, 1);
                for (boolean withBias : new boolean[] {false, true})
                    compare("linear " + tokens + " tokens, W " + rows + "x" + cols + (withBias ? " + bias" : ""),
                            threads, tokens, rows, (b, out) ->
                                    b.linear(b.upload(x, tokens, cols), b.matrix(w), withBias ? b.vec(bias) : null, out));
            }
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 2})
    void ropeRotatesExactlyAsTheScalarLoop(int threads) {
        for (int headDim : new int[] {32, 20, 64})
            for (int tokens : TOKEN_COUNTS) {
                int heads = 3, cols = heads * headDim;
                float[] x = gaussian(tokens * cols, 1);
                int[] positions = random.ints(tokens, 0, 5000).toArray();
                float[] invFreq = new float[headDim / 2];
                for (int i = 0; i < invFreq.length; i++) invFreq[i] = (float) Math.pow(150000, -2.0 * i / headDim);
                try (CpuBackend cpu = cpu(threads)) {
                    Activations want = ref.upload(x, tokens, cols), got = cpu.upload(x, tokens, cols);
                    ref.rope(want, headDim, positions, invFreq, 1.3465736f);
                    cpu.rope(got, headDim, positions, invFreq, 1.3465736f);
                    assertArrayEquals(ref.download(want), cpu.download(got), "rope headDim " + headDim);
                }
            }
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 2})
    void addIsExact(int threads) {
        for (int n : new int[] {1, 37, 10_001}) {
            float[] a = gaussian(n, 1), b = gaussian(n, 1);
            try (CpuBackend cpu = cpu(threads)) {
                Activations want = ref.upload(a, 1, n), got = cpu.upload(a, 1, n);
                ref.add(want, ref.upload(b, 1, n));
                cpu.add(got, cpu.upload(b, 1, n));
                assertArrayEquals(ref.download(want), cpu.download(got));
            }
        }
    }

    // ---- attention ------------------------------------------------------------------------------------------------

    /**
     * Three sequences of different lengths with shuffled block tables (block size 4); the batch holds one decode token,
     * a prefill chunk and a short prompt, so tokens sit at many positions.
     */
    private record AttentionCase(AttentionBatch batch, int[] historySeq, int[] historyPos, int heads, int kvHeads,
                                 int headDim, int blocks) {}

    private AttentionCase attentionCase(int headDim) {
        int blockSize = 4, heads = 8, kvHeads = 2;
        int[] lengths = {9, 14, 5};
        int blocks = 12;
        List<Integer> pool = new ArrayList<>();
        for (int i = 0; i < blocks; i++) pool.add(i);
        Collections.shuffle(pool, random);
        int[][] tables = new int[lengths.length][];
        int next = 0;
        for (int s = 0; s < lengths.length; s++) {
            tables[s] = new int[(lengths[s] + blockSize - 1) / blockSize];
            for (int j = 0; j < tables[s].length; j++) tables[s][j] = pool.get(next++);
        }
        // the batch: sequence 0 decodes at 8; sequence 1 prefills 9..13; sequence 2 prefills 2..4
        int[] sequenceOf = {0, 1, 1, 1, 1, 1, 2, 2, 2};
        int[] positions = {8, 9, 10, 11, 12, 13, 2, 3, 4};
        List<int[]> history = new ArrayList<>();
        for (int s = 0; s < lengths.length; s++) for (int p = 0; p < lengths[s]; p++) history.add(new int[] {s, p});
        int[] hs = history.stream().mapToInt(h -> h[0]).toArray(), hp = history.stream().mapToInt(h -> h[1]).toArray();
        return new AttentionCase(new AttentionBatch(positions, sequenceOf, tables, blockSize), hs, hp, heads, kvHeads,
                headDim, blocks);
    }

    /** Fills the cache with every history token's K and V (random), then runs attention for the batch. */
    private float[] runAttention(Backend b, AttentionCase c, float[] k, float[] v, float[] q, float[] sinks, int window) {
        KvCache cache = b.allocateKv(2, c.blocks(), c.batch().blockSize(), c.kvHeads(), c.headDim());
        int[] slots = new int[c.historySeq().length];
        int[][] tables = c.batch().blockTables();
        for (int i = 0; i < slots.length; i++) {
            int s = c.historySeq()[i], p = c.historyPos()[i];
            slots[i] = tables[s][p / c.batch().blockSize()] * c.batch().blockSize() + p % c.batch().blockSize();
        }
        int w = c.kvHeads() * c.headDim(), tokens = c.batch().tokens(), qCols = c.heads() * c.headDim();
        b.writeKv(b.upload(k, slots.length, w), b.upload(v, slots.length, w), cache, 1, slots);
        Activations out = b.allocate(tokens, qCols);
        Tensor sinkTensor = bf16("sinks", sinks, sinks.length);
        b.attention(b.upload(q, tokens, qCols), cache, 1, c.batch(), b.vec(sinkTensor), window,
                (float) (1 / Math.sqrt(c.headDim())), out);
        return b.download(out);
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 2})
    void attentionWithSinksMatchesOverThePagedCache(int threads) {
        for (int headDim : new int[] {32, 20})
            for (int window : new int[] {0, 6, 1}) {
                AttentionCase c = attentionCase(headDim);
                int n = c.historySeq().length, w = c.kvHeads() * headDim;
                float[] k = gaussian(n * w, 1), v = gaussian(n * w, 1);
                float[] q = gaussian(c.batch().tokens() * c.heads() * headDim, 2), sinks = gaussian(c.heads(), 1);
                float[] want = runAttention(ref, c, k, v, q, sinks, window);
                try (CpuBackend cpu = cpu(threads)) {
                    assertClose("attention headDim " + headDim + " window " + window, want,
                            runAttention(cpu, c, k, v, q, sinks, window));
                }
            }
    }

    @Test
    void attentionWindowSeesExactlyWindowKeys() {
        AttentionCase c = attentionCase(32);
        int n = c.historySeq().length, w = c.kvHeads() * 32, window = 6;
        float[] k = gaussian(n * w, 1), q = gaussian(c.batch().tokens() * c.heads() * 32, 1);
        float[] sinks = gaussian(c.heads(), 1);
        // token 5 of the batch is sequence 1 at position 13: it sees positions 8..13, not 7
        int first = -1, outside = -1;
        for (int i = 0; i < n; i++) {
            if (c.historySeq()[i] == 1 && c.historyPos()[i] == 13 - window + 1) first = i;
            if (c.historySeq()[i] == 1 && c.historyPos()[i] == 13 - window) outside = i;
        }
        try (CpuBackend cpu = cpu(2)) {
            float[] v = new float[n * w];
            Arrays.fill(v, outside * w, (outside + 1) * w, 1e6f);
            float[] out = runAttention(cpu, c, k, v, q, sinks, window);
            for (int i = 5 * c.heads() * 32; i < 6 * c.heads() * 32; i++) assertEquals(0f, out[i], "key outside the window");
            v = new float[n * w];
            Arrays.fill(v, first * w, (first + 1) * w, 1e6f);
            out = runAttention(cpu, c, k, v, q, sinks, window);
            for (int i = 5 * c.heads() * 32; i < 6 * c.heads() * 32; i++) assertTrue(out[i] > 1, "first key in the window");
        }
    }

    // ---- MoE ------------------------------------------------------------------------------------------------------

    private static Moe moe(Backend b, Tensor[] t) {
        return new Moe(b.matrix(t[0]), b.vec(t[1]), b.experts(t[2], t[3], t[4], t[5], t[6], t[7]), 4, 7f, 1.702f);
    }

    private Tensor[] moeTensors(int experts, int hidden, int inter) {
        return FakeTensors.moe(random, experts, hidden, inter);
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 2})
    void moeMatchesWithExpertsSharedAcrossTokens(int threads) {
        int experts = 8, hidden = 64, inter = 96;
        Tensor[] t = moeTensors(experts, hidden, inter);
        for (int tokens : TOKEN_COUNTS) {
            float[] x = gaussian(tokens * hidden, 1);
            if (tokens > 2) System.arraycopy(x, 0, x, hidden, hidden);   // two identical tokens
            compare("moe " + tokens + " tokens", threads, tokens, hidden,
                    (b, out) -> b.moe(b.upload(x, tokens, hidden), moe(b, t), out));
        }
    }

    @Test
    void swigluClampIsReached() {
        // the fixture's gate_up bias alone (sigma 4) puts about 8% of pre-activations past the limit of 7
        Tensor[] t = moeTensors(8, 64, 96);
        float[] bias = t[4].toFloats();
        long beyond = 0;
        for (float b : bias) if (Math.abs(b) > 7) beyond++;
        assertTrue(beyond > 10, beyond + " biases past the clamp");
    }

    // ---- the team -------------------------------------------------------------------------------------------------

    @Test
    void closeStopsTheTeam() {
        CpuBackend cpu = cpu(2);
        List<Thread> team = cpu.teamThreads();
        assertEquals(1, team.size());
        assertEquals("tessera-cpu-1", team.getFirst().getName());
        assertTrue(team.getFirst().isAlive() && team.getFirst().isDaemon());
        cpu.close();
        for (Thread thread : team) assertFalse(thread.isAlive(), thread.getName() + " still running");
        Activations a = cpu.allocate(1, 100_000);
        assertThrows(IllegalStateException.class, () -> cpu.add(a, a));
        cpu.close();
        try (CpuBackend all = new CpuBackend()) {
            assertEquals(Runtime.getRuntime().availableProcessors(), all.threads());
            assertEquals(all.threads() - 1, all.teamThreads().size());
        }
    }

    @Test
    void aFailureOnATeamThreadReachesTheCaller() {
        try (CpuThreads team = new CpuThreads(2)) {
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> team.forEach(100, 1, (s, end, m) -> {
                if (m == 1 || s >= 50) throw new IllegalStateException("boom");
            }));
            assertEquals("boom", e.getMessage());
            int[] sum = new int[1];
            team.forEach(10, 1, (s, end, m) -> { synchronized (sum) { sum[0] += end - s; } });
            assertEquals(10, sum[0], "the team still works after a failure");
        }
    }
}
