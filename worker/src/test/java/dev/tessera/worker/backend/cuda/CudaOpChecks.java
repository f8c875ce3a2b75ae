package dev.tessera.worker.backend.cuda;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.worker.Fixtures;
import dev.tessera.worker.backend.AttentionBatch;
import dev.tessera.worker.backend.Backend;
import dev.tessera.worker.backend.Backend.Activations;
import dev.tessera.worker.backend.Backend.KvCache;
import dev.tessera.worker.backend.Backend.Moe;
import dev.tessera.worker.backend.FakeTensors;
import dev.tessera.worker.backend.ScalarBackend;
import dev.tessera.worker.checkpoint.Checkpoint;
import dev.tessera.worker.checkpoint.Tensor;
import dev.tessera.worker.engine.BlockPool;
import dev.tessera.worker.engine.LocalPipeline;
import dev.tessera.worker.engine.SamplingParams;
import dev.tessera.worker.engine.SequenceChunk;
import dev.tessera.worker.engine.ShardStep;
import dev.tessera.worker.model.ModelConfig;
import dev.tessera.worker.verify.Golden;
import dev.tessera.worker.verify.Verifier;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Every op of {@link CudaBackend} against {@link ScalarBackend} on seeded random inputs, for a library the subclass
 * supplies (the host build, or the CUDA build on a GPU): one token, a few, many (33 and more); widths that are not
 * a multiple of a warp; attention over shuffled paged block tables with GQA, sliding windows and enough keys to split;
 * MoE with tied router logits; and the whole tiny model against transformers' golden outputs.
 *
 * <p>Tolerance: sums run in float32 in another order than the reference's double sums, so results match to
 * {@value #TOLERANCE} relative to the largest reference value; copies (embed, gather, add) match bit for bit.
 */
abstract class CudaOpChecks {

    static final double TOLERANCE = 1e-4;
    static final int[] TOKEN_COUNTS = {1, 2, 3, 5, 16, 33};

    final ScalarBackend ref = new ScalarBackend();
    final Random random = new Random(42);
    CudaBackend cuda;

    /** The library under test. */
    abstract Cuda library();

    @BeforeEach
    void openBackend() { cuda = new CudaBackend(library(), 0); }

    @AfterEach
    void closeBackend() { if (cuda != null) cuda.close(); }

    // ---- fixtures -------------------------------------------------------------------------------------------------

    float[] gaussian(int n, double sigma) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) (random.nextGaussian() * sigma);
        return v;
    }

    static Tensor bf16(String name, float[] values, long... shape) { return FakeTensors.bf16(name, values, shape); }

    static void assertClose(String what, float[] expected, float[] actual) {
        assertEquals(expected.length, actual.length, what + ": length");
        double maxRef = 0, maxDiff = 0;
        int worst = -1;
        for (int i = 0; i < expected.length; i++) {
            maxRef = Math.max(maxRef, Math.abs(expected[i]));
            double d = Math.abs((double) expected[i] - actual[i]);
            if (!(d <= maxDiff)) {
                maxDiff = d;
                worst = i;
            }
        }
        double bound = TOLERANCE * (1 + maxRef);
        int at = worst;
        double diff = maxDiff, max = maxRef;
        assertTrue(maxDiff <= bound, () -> what + ": max |diff| " + diff + " > " + bound + " at " + at + " (expected "
                + expected[at] + ", got " + actual[at] + "; max |ref| " + max + ")");
    }

    /** Runs the same op on the reference and on the backend under test, each with its own copies of the inputs. */
    interface Op {
        void run(Backend b, Activations out);
    }

    void compare(String what, int rows, int cols, Op op) {
        Activations want = ref.allocate(rows, cols), got = cuda.allocate(rows, cols);
        op.run(ref, want);
        op.run(cuda, got);
        assertClose(what, ref.download(want), cuda.download(got));
    }

    // ---- element-wise and row ops ---------------------------------------------------------------------------------

    @Test
    void embedCopiesRowsExactly() {
        for (int cols : new int[] {40, 72, 128})
            for (int tokens : new int[] {1, 33, 100}) {
                Tensor table = bf16("embed", gaussian(50 * cols, 1), 50, cols);
                int[] ids = random.ints(tokens, 0, 50).toArray();
                if (tokens > 7) ids[3] = ids[7];
                Activations want = ref.allocate(tokens, cols), got = cuda.allocate(tokens, cols);
                ref.embed(ids, ref.matrix(table), want);
                cuda.embed(ids, cuda.matrix(table), got);
                assertArrayEquals(ref.download(want), cuda.download(got), "embed " + tokens + "x" + cols);
            }
    }

    @Test
    void embedRejectsTokensOutsideTheVocabularyAsTheReferenceDoes() {
        Tensor table = bf16("embed", gaussian(50 * 32, 1), 50, 32);
        for (int bad : new int[] {50, -1}) {
            var want = assertThrows(IllegalArgumentException.class,
                    () -> ref.embed(new int[] {3, bad}, ref.matrix(table), ref.allocate(2, 32)));
            var got = assertThrows(IllegalArgumentException.class,
                    () -> cuda.embed(new int[] {3, bad}, cuda.matrix(table), cuda.allocate(2, 32)));
            assertEquals(want.getMessage(), got.getMessage());
        }
    }

    @Test
    void rmsNormMatches() {
        for (int tokens : TOKEN_COUNTS)
            for (int cols : new int[] {40, 72, 128, 7, 2880}) {
                float[] x = gaussian(tokens * cols, 3);
                Tensor gain = bf16("gain", gaussian(cols, 1), cols);
                compare("rmsNorm " + tokens + "x" + cols, tokens, cols,
                        (b, out) -> b.rmsNorm(b.upload(x, tokens, cols), b.vec(gain), 1e-5f, out));
            }
    }

    @Test
    void rmsNormInPlaceMatches() {
        float[] x = gaussian(33 * 72, 3);
        Tensor gain = bf16("gain", gaussian(72, 1), 72);
        Activations want = ref.upload(x, 33, 72), got = cuda.upload(x, 33, 72);
        ref.rmsNorm(want, ref.vec(gain), 1e-5f, want);
        cuda.rmsNorm(got, cuda.vec(gain), 1e-5f, got);
        assertClose("rmsNorm in place", ref.download(want), cuda.download(got));
    }

    @Test
    void linearMatches() {
        int[][] shapes = {{72, 40}, {37, 72}, {37, 70}, {128, 128}, {13, 7}, {5, 300}, {1, 16}, {200, 33}};
        for (int tokens : new int[] {1, 2, 3, 5, 16, 33, 100})
            for (int[] shape : shapes) {
                int rows = shape[0], cols = shape[1];
                Tensor w = bf16("w", gaussian(rows * cols, 1), rows, cols);
                Tensor bias = bf16("b", gaussian(rows, 1), rows);
                float[] x = gaussian(tokens * cols, 1);
                for (boolean withBias : new boolean[] {false, true})
                    compare("linear " + tokens + " tokens, W " + rows + "x" + cols + (withBias ? " + bias" : ""),
                            tokens, rows, (b, out) ->
                                    b.linear(b.upload(x, tokens, cols), b.matrix(w), withBias ? b.vec(bias) : null, out));
            }
    }

    @Test
    void linearReadsWeightsFromNativeMemoryInPlace() {
        float[] values = gaussian(37 * 70, 1);
        Tensor heap = bf16("w", values, 37, 70);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment nativeCopy = arena.allocate(heap.data().byteSize());
            nativeCopy.copyFrom(heap.data());
            Tensor mapped = new Tensor("w", heap.dtype(), heap.shape(), nativeCopy, Path.of("native"));
            float[] x = gaussian(5 * 70, 1);
            compare("linear, native weights", 5, 37,
                    (b, out) -> b.linear(b.upload(x, 5, 70), b.matrix(b == ref ? heap : mapped), null, out));
        }
    }

    @Test
    void ropeMatches() {
        for (int headDim : new int[] {32, 64, 128})
            for (int tokens : TOKEN_COUNTS) {
                int heads = 3, cols = heads * headDim;
                float[] x = gaussian(tokens * cols, 1);
                int[] positions = random.ints(tokens, 0, 5000).toArray();
                positions[0] = 0;
                float[] invFreq = new float[headDim / 2];
                for (int i = 0; i < invFreq.length; i++) invFreq[i] = (float) Math.pow(150000, -2.0 * i / headDim);
                Activations want = ref.upload(x, tokens, cols), got = cuda.upload(x, tokens, cols);
                ref.rope(want, headDim, positions, invFreq, 1.3465736f);
                cuda.rope(got, headDim, positions, invFreq, 1.3465736f);
                assertClose("rope headDim " + headDim + ", " + tokens + " tokens", ref.download(want), cuda.download(got));
            }
    }

    /** The fused projections against the reference's three linears and two ropes, for q/k/v shapes of gpt-oss's kind. */
    @Test
    void qkvWithRopeMatchesTheLinearsAndRopes() {
        int hidden = 96, headDim = 32;
        for (int[] heads : new int[][] {{4, 2}, {3, 3}})
            for (int tokens : new int[] {1, 3, 33}) {
                int qw = heads[0] * headDim, kvw = heads[1] * headDim;
                Tensor[] w = {bf16("q", gaussian(qw * hidden, 0.2), qw, hidden), bf16("qb", gaussian(qw, 0.5), qw),
                        bf16("k", gaussian(kvw * hidden, 0.2), kvw, hidden), bf16("kb", gaussian(kvw, 0.5), kvw),
                        bf16("v", gaussian(kvw * hidden, 0.2), kvw, hidden), bf16("vb", gaussian(kvw, 0.5), kvw)};
                float[] x = gaussian(tokens * hidden, 1), invFreq = new float[headDim / 2];
                for (int i = 0; i < invFreq.length; i++) invFreq[i] = (float) Math.pow(150000, -2.0 * i / headDim);
                int[] positions = new int[tokens];
                for (int t = 0; t < tokens; t++) positions[t] = random.nextInt(131072);
                float[][] want = qkv(ref, w, x, tokens, hidden, headDim, positions, invFreq), got = qkv(cuda, w, x, tokens,
                        hidden, headDim, positions, invFreq);
                for (int p = 0; p < 3; p++)
                    assertClose("qkv " + "qkv".charAt(p) + ", " + heads[0] + "/" + heads[1] + " heads, " + tokens + " tokens",
                            want[p], got[p]);
            }
    }

    private static float[][] qkv(Backend b, Tensor[] w, float[] x, int tokens, int hidden, int headDim, int[] positions,
                                 float[] invFreq) {
        Backend.Qkv weights = new Backend.Qkv(b.matrix(w[0]), b.vec(w[1]), b.matrix(w[2]), b.vec(w[3]), b.matrix(w[4]), b.vec(w[5]));
        Activations q = b.allocate(tokens, w[0].dim(0)), k = b.allocate(tokens, w[2].dim(0)), v = b.allocate(tokens, w[4].dim(0));
        b.qkvRope(b.upload(x, tokens, hidden), weights, headDim, positions, invFreq, 0.9f, q, k, v);
        return new float[][] {b.download(q), b.download(k), b.download(v)};
    }

    @Test
    void addIsExact() {
        for (int n : new int[] {1, 37, 10_001}) {
            float[] a = gaussian(n, 1), b = gaussian(n, 1);
            Activations want = ref.upload(a, 1, n), got = cuda.upload(a, 1, n);
            ref.add(want, ref.upload(b, 1, n));
            cuda.add(got, cuda.upload(b, 1, n));
            assertArrayEquals(ref.download(want), cuda.download(got), "add " + n);
        }
    }

    @Test
    void gatherIsExact() {
        float[] x = gaussian(40 * 37, 1);
        for (int[] rows : new int[][] {{0}, {39}, {5, 2, 5, 39, 0}, random.ints(33, 0, 40).toArray()}) {
            Activations want = ref.allocate(rows.length, 37), got = cuda.allocate(rows.length, 37);
            ref.gather(ref.upload(x, 40, 37), rows, want);
            cuda.gather(cuda.upload(x, 40, 37), rows, got);
            assertArrayEquals(ref.download(want), cuda.download(got), "gather " + rows.length + " rows");
        }
        assertThrows(IllegalArgumentException.class, () -> cuda.gather(cuda.upload(x, 40, 37), new int[] {40}, cuda.allocate(1, 37)));
    }

    @Test
    void argmaxMatchesAHostArgmaxWithTiesToTheLowerIndex() {
        for (int cols : new int[] {1, 37, 512, 5000})
            for (int rows : new int[] {1, 3, 33}) {
                float[] x = gaussian(rows * cols, 1);
                for (int r = 0; r < rows && cols > 2; r += 2) {         // every other row: its maximum twice
                    int hi = hostArgmax(x, r * cols, cols), other = random.nextInt(cols);
                    x[r * cols + other] = x[r * cols + hi];
                }
                if (rows > 1) java.util.Arrays.fill(x, cols, 2 * cols, -3f);   // row 1: all equal
                int[] want = new int[rows];
                for (int r = 0; r < rows; r++) want[r] = hostArgmax(x, r * cols, cols);
                assertArrayEquals(want, cuda.argmax(cuda.upload(x, rows, cols)), "argmax " + rows + "x" + cols);
            }
    }

    @Test
    void greedyOnTheDeviceMatchesTheHostSampler() {
        for (int cols : new int[] {1, 37, 5000})
            for (int rows : new int[] {1, 3, 33}) {
                float[] x = gaussian(rows * cols, 4);
                for (int r = 0; r < rows && cols > 2; r += 2) x[r * cols + random.nextInt(cols)] = x[r * cols + hostArgmax(x, r * cols, cols)];
                Backend.Greedy g = cuda.greedy(cuda.upload(x, rows, cols));
                for (int r = 0; r < rows; r++) {
                    var want = dev.tessera.worker.engine.Sampler.sample(x, r * cols, cols, SamplingParams.GREEDY, 0);
                    assertEquals(want.token(), g.tokens()[r], "greedy token, row " + r + " of " + rows + "x" + cols);
                    assertEquals(want.logprob(), g.logprobs()[r], 1e-5 * Math.max(1, Math.abs(want.logprob())),
                            "greedy log-probability, row " + r + " of " + rows + "x" + cols);
                }
            }
    }

    /** A serving step that asks for no log-probabilities gets its greedy tokens from the device and no logits. */
    @Test
    void aStepWantingNoLogitsTakesTheDevicesGreedyChoices() throws Exception {
        Path tiny = Fixtures.tiny();
        ModelConfig config = ModelConfig.load(tiny);
        int[] ids = Golden.load(tiny.resolve("golden.safetensors")).inputIds();
        Cuda library = library();
        try (Checkpoint ckpt = Checkpoint.open(tiny);
             LocalPipeline p = LocalPipeline.load(ckpt, config, 1, 16, 4, () -> new CudaBackend(library, 0))) {
            BlockPool pool = new BlockPool(16, 4);
            int[] a = pool.grow(new int[0], 9), b = pool.grow(new int[0], 9);
            List<SequenceChunk> seqs = List.of(new SequenceChunk(1, java.util.Arrays.copyOf(ids, 9), 0, a, true, SamplingParams.GREEDY),
                    new SequenceChunk(2, java.util.Arrays.copyOfRange(ids, 9, 18), 0, b, true, SamplingParams.GREEDY));
            var onHost = p.run(new ShardStep(seqs, null, false, false, true));
            var onDevice = p.run(new ShardStep(seqs, null, false, false, false));
            assertTrue(onHost.logits() != null && onDevice.logits() == null, "logits leave the device only when wanted");
            assertEquals(onHost.sampled().size(), onDevice.sampled().size());
            for (int i = 0; i < onHost.sampled().size(); i++) {
                assertEquals(onHost.sampled().get(i).seqId(), onDevice.sampled().get(i).seqId());
                assertEquals(onHost.sampled().get(i).token(), onDevice.sampled().get(i).token());
                assertEquals(onHost.sampled().get(i).logprob(), onDevice.sampled().get(i).logprob(), 1e-5);
            }
        }
    }

    private static int hostArgmax(float[] x, int offset, int n) {
        int best = 0;
        for (int i = 1; i < n; i++) if (x[offset + i] > x[offset + best]) best = i;
        return best;
    }

    // ---- attention ------------------------------------------------------------------------------------------------

    /**
     * Sequences of different lengths on shuffled cache blocks; the batch holds, for each sequence, the tokens from
     * {@code starts[s]} to its end (one token is a decode, more a prefill chunk), sequences in reverse order.
     */
    record AttentionCase(AttentionBatch batch, int[] historySlots, int heads, int kvHeads, int headDim, int blocks) {}

    AttentionCase attentionCase(int heads, int kvHeads, int headDim, int blockSize, int[] lengths, int[] starts) {
        int blocks = 2;
        for (int length : lengths) blocks += (length + blockSize - 1) / blockSize;
        List<Integer> pool = new ArrayList<>();
        for (int i = 0; i < blocks; i++) pool.add(i);
        Collections.shuffle(pool, random);
        int[][] tables = new int[lengths.length][];
        int next = 0;
        for (int s = 0; s < lengths.length; s++) {
            tables[s] = new int[(lengths[s] + blockSize - 1) / blockSize];
            for (int j = 0; j < tables[s].length; j++) tables[s][j] = pool.get(next++);
        }
        List<int[]> tokens = new ArrayList<>();
        for (int s = lengths.length - 1; s >= 0; s--) for (int p = starts[s]; p < lengths[s]; p++) tokens.add(new int[] {s, p});
        List<Integer> history = new ArrayList<>();
        for (int s = 0; s < lengths.length; s++)
            for (int p = 0; p < lengths[s]; p++) history.add(tables[s][p / blockSize] * blockSize + p % blockSize);
        Collections.shuffle(history, random);
        AttentionBatch batch = new AttentionBatch(tokens.stream().mapToInt(t -> t[1]).toArray(),
                tokens.stream().mapToInt(t -> t[0]).toArray(), tables, blockSize);
        return new AttentionCase(batch, history.stream().mapToInt(Integer::intValue).toArray(), heads, kvHeads, headDim,
                blocks);
    }

    /** Writes every history token's K and V (one writeKv call, scattered slots), then runs attention for the batch. */
    static float[] runAttention(Backend b, AttentionCase c, float[] k, float[] v, float[] q, float[] sinks, int window) {
        KvCache cache = b.allocateKv(2, c.blocks(), c.batch().blockSize(), c.kvHeads(), c.headDim());
        int n = c.historySlots().length, w = c.kvHeads() * c.headDim(), tokens = c.batch().tokens();
        int qCols = c.heads() * c.headDim();
        b.writeKv(b.upload(k, n, w), b.upload(v, n, w), cache, 1, c.historySlots());
        Activations out = b.allocate(tokens, qCols);
        b.attention(b.upload(q, tokens, qCols), cache, 1, c.batch(), b.vec(bf16("sinks", sinks, sinks.length)), window,
                (float) (1 / Math.sqrt(c.headDim())), out);
        return b.download(out);
    }

    void checkAttention(String what, AttentionCase c, int... windows) {
        int n = c.historySlots().length, w = c.kvHeads() * c.headDim();
        float[] k = gaussian(n * w, 1), v = gaussian(n * w, 1);
        float[] q = gaussian(c.batch().tokens() * c.heads() * c.headDim(), 2), sinks = gaussian(c.heads(), 1);
        for (int window : windows)
            assertClose(what + ", window " + window, runAttention(ref, c, k, v, q, sinks, window),
                    runAttention(cuda, c, k, v, q, sinks, window));
    }

    @ParameterizedTest(name = "{0} heads / {1} KV heads of {2}")
    @CsvSource({"8, 2, 32", "8, 2, 64", "4, 4, 64", "8, 1, 64", "4, 2, 128", "2, 1, 256"})
    void attentionWithSinksMatchesOverThePagedCache(int heads, int kvHeads, int headDim) {
        // sequence 0 decodes at 8; sequence 1 prefills 9..13; sequence 2 prefills 2..4 (blocks of 4)
        AttentionCase c = attentionCase(heads, kvHeads, headDim, 4, new int[] {9, 14, 5}, new int[] {8, 9, 2});
        checkAttention("attention " + heads + "/" + kvHeads + "x" + headDim, c, 0, 6, 1);
    }

    @Test
    void attentionOverManyKeysMatches() {
        // two decodes that see 700 and 300 keys, next to a whole prompt of 40 tokens (blocks of 16)
        AttentionCase c = attentionCase(8, 2, 64, 16, new int[] {700, 300, 40}, new int[] {699, 299, 0});
        checkAttention("attention, long contexts", c, 0, 128);
    }

    @Test
    void attentionOfALongPrefillChunkMatches() {
        // 100 tokens of one sequence, each seeing 1000 to 1100 keys
        AttentionCase c = attentionCase(8, 2, 64, 16, new int[] {1100}, new int[] {1000});
        checkAttention("attention, a chunk late in a long prompt", c, 0, 128);
    }

    @Test
    void attentionRejectsBlocksOutsideTheCache() {
        AttentionCase c = attentionCase(8, 2, 32, 4, new int[] {9, 14, 5}, new int[] {8, 9, 2});
        KvCache cache = cuda.allocateKv(1, c.blocks(), 4, 2, 32);
        int[][] tables = c.batch().blockTables().clone();
        tables[1] = tables[1].clone();
        tables[1][0] = c.blocks();
        AttentionBatch bad = new AttentionBatch(c.batch().positions(), c.batch().sequenceOf(), tables, 4);
        int tokens = bad.tokens();
        var e = assertThrows(IllegalArgumentException.class, () -> cuda.attention(cuda.allocate(tokens, 8 * 32), cache, 0,
                bad, cuda.vec(bf16("sinks", gaussian(8, 1), 8)), 0, 1f, cuda.allocate(tokens, 8 * 32)));
        assertTrue(e.getMessage().contains("KV block " + c.blocks()), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> cuda.writeKv(cuda.allocate(1, 64), cuda.allocate(1, 64), cache, 0,
                new int[] {c.blocks() * 4}));
    }

    // ---- MoE ------------------------------------------------------------------------------------------------------

    static Moe moe(Backend b, Tensor[] t, int topK) {
        return new Moe(b.matrix(t[0]), b.vec(t[1]), b.experts(t[2], t[3], t[4], t[5], t[6], t[7]), topK, 7f, 1.702f);
    }

    Tensor[] moeTensors(int experts, int hidden, int inter) {
        return FakeTensors.moe(random, experts, hidden, inter);
    }

    void checkMoe(int experts, int hidden, int inter, int topK, int... tokenCounts) {
        Tensor[] t = moeTensors(experts, hidden, inter);
        for (int tokens : tokenCounts) {
            float[] x = gaussian(tokens * hidden, 1);
            if (tokens > 2) System.arraycopy(x, 0, x, hidden, hidden);   // two identical tokens
            compare("moe " + experts + " experts (top " + topK + "), hidden " + hidden + ", intermediate " + inter + ", "
                    + tokens + " tokens", tokens, hidden, (b, out) -> b.moe(b.upload(x, tokens, hidden), moe(b, t, topK), out));
        }
    }

    @Test
    void moeMatchesWithExpertsSharedAcrossTokens() {
        checkMoe(8, 64, 96, 4, 1, 2, 3, 5, 16, 33, 100);
    }

    @Test
    void moeMatchesForOtherShapes() {
        checkMoe(32, 128, 64, 4, 1, 33);
        checkMoe(128, 64, 32, 4, 7, 40);
        checkMoe(16, 32, 32, 8, 1, 33);
        checkMoe(8, 32, 64, 1, 5);
    }

    @Test
    void moeRouterTiesGoToTheLowerExpert() {
        // a router whose experts all tie: every token takes experts 0..k-1 with equal weights
        int experts = 8, hidden = 64, inter = 32;
        Tensor[] t = moeTensors(experts, hidden, inter);
        t[0] = bf16("router", new float[experts * hidden], experts, hidden);
        t[1] = bf16("router.bias", new float[experts], experts);
        float[] x = gaussian(33 * hidden, 1);
        compare("moe, all logits tied", 33, hidden, (b, out) -> b.moe(b.upload(x, 33, hidden), moe(b, t, 4), out));
    }

    // ---- device memory --------------------------------------------------------------------------------------------

    @Test
    void releasedActivationsAreReusedAndFreedOnClose() {
        long base = cuda.liveBytes();
        var a = (CudaBackend.DeviceActivations) cuda.allocate(3, 5);
        long rounded = DeviceMemory.sizeClass(60);
        assertEquals(256, rounded, "step buffers come in size classes");
        assertEquals(base + rounded, cuda.liveBytes());
        cuda.release(a);
        assertEquals(base, cuda.liveBytes());
        assertEquals(rounded, cuda.cachedBytes());
        var b = (CudaBackend.DeviceActivations) cuda.upload(new float[15], 5, 3);
        assertEquals(a.address(), b.address(), "a buffer of the same size is reused");
        assertEquals(0, cuda.cachedBytes());
        var c = (CudaBackend.DeviceActivations) cuda.allocate(3, 5);
        assertNotEquals(b.address(), c.address());
        assertArrayEquals(new float[15], cuda.download(c), "allocate zeroes");
        cuda.release(b);
        var e = assertThrows(IllegalStateException.class, () -> cuda.release(b));
        assertTrue(e.getMessage().contains("released twice"), e.getMessage());
        cuda.close();
        cuda.close();
        assertEquals(0, cuda.liveBytes());
        assertThrows(IllegalStateException.class, () -> cuda.download(c));
        assertThrows(IllegalStateException.class, () -> cuda.allocate(1, 1));
    }

    // ---- the whole model ------------------------------------------------------------------------------------------

    /**
     * The verifier of {@code tessera verify} (prefill, decode through the cache, greedy tokens) with its tolerances, on
     * two stages with KV blocks of 4. NOTE: one configuration here, since the host build runs the model slowly.
     */
    @Test
    void theTinyModelMatchesTransformersOverTwoStages() throws Exception {
        verify(2, 4);
    }

    void verify(int stages, int blockSize) throws Exception {
        Path tiny = Fixtures.tiny();
        List<String> lines = new ArrayList<>();
        Cuda library = library();
        Verifier.Result r = Verifier.run(new Verifier.Options(tiny, tiny.resolve("golden.safetensors"), stages, blockSize),
                () -> new CudaBackend(library, 0), lines::add);
        lines.forEach(System.out::println);
        assertTrue(r.pass(), () -> String.join("\n", lines));
        assertEquals(r.greedySteps(), r.greedyMatched(), () -> String.join("\n", lines));
    }

    @Test
    void stepsGiveBackEveryActivation() throws Exception {
        Path tiny = Fixtures.tiny();
        ModelConfig config = ModelConfig.load(tiny);
        int[] ids = Golden.load(tiny.resolve("golden.safetensors")).inputIds();
        List<CudaBackend> backends = new ArrayList<>();
        Cuda library = library();
        try (Checkpoint ckpt = Checkpoint.open(tiny);
             LocalPipeline p = LocalPipeline.load(ckpt, config, 2, 16, 4, () -> {
                 CudaBackend b = new CudaBackend(library, 0);
                 backends.add(b);
                 return b;
             })) {
            long[] loaded = backends.stream().mapToLong(CudaBackend::liveBytes).toArray();   // weights and KV
            BlockPool pool = new BlockPool(16, 4);
            int prompt = 8;
            int[] table = pool.grow(new int[0], prompt);
            p.run(ShardStep.of(List.of(new SequenceChunk(1, java.util.Arrays.copyOf(ids, prompt), 0, table, true,
                    SamplingParams.GREEDY))));
            for (int step = 0; step < 3; step++) {
                table = pool.grow(table, prompt + step + 1);
                p.run(ShardStep.of(List.of(new SequenceChunk(1, new int[] {ids[prompt + step]}, prompt + step, table, true,
                        SamplingParams.GREEDY))));
                for (int i = 0; i < backends.size(); i++) {
                    CudaBackend b = backends.get(i);
                    assertEquals(loaded[i] + b.scratchBytes(), b.liveBytes(), "stage " + i + ", step " + step
                            + ": device memory beyond weights, KV and scratch is still held");
                    assertTrue(b.cachedBytes() > 0, "stage " + i + " keeps its step buffers for the next step");
                }
            }
        }
    }
}
