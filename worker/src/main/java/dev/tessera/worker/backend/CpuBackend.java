package dev.tessera.worker.backend;

import java.util.Arrays;
import java.util.List;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The fast CPU backend: the ops of {@link ScalarBackend} on the Vector API, spread over a team of threads.
 *
 * <p>Each op splits its independent outputs (weight rows, (token, head) pairs, tokens, experts' rows) into contiguous
 * chunks for the team; an op whose work is tiny runs on the calling thread alone. Sums run in float32 vector lanes, so
 * results match {@link ScalarBackend} to a relative tolerance, not bit for bit (element-wise ops — embed, rope,
 * writeKv, add — match exactly).
 *
 * <p>Weights are read in place from their {@code MemorySegment}s by every team thread, so they must live in a global,
 * shared or automatic arena (a mapped checkpoint) or on the heap, never in a confined arena. A batched linear streams
 * its weights from memory once per block of tokens whose activations fit in L2 (20 tokens of width 2880, so a decode
 * batch of 16 reads them once), and the MoE block reads each chosen expert once a step for all of its tokens.
 *
 * <p>Thread safety: as {@link Backend}; one driver thread at a time. {@link #close()} stops the team (threads named
 * {@code tessera-cpu-N}); ops that need the team throw {@link IllegalStateException} afterwards.
 */
public final class CpuBackend extends HostBackend {

    private static final VectorSpecies<Float> F = Bf16Kernels.F;
    private static final int L = F.length();
    // NOTE: below this many multiply-adds an op runs on the caller alone: waking the team costs a few microseconds,
    // more than a small op takes (the test fixture's hidden size is 128).
    static final long DEFAULT_MIN_PARALLEL_WORK = 1 << 15;
    // NOTE: a batched linear takes tokens in blocks whose activations fit in L2 beside the weight rows in flight.
    private static final int TOKEN_BLOCK_BYTES = 256 * 1024;

    private final CpuThreads team;
    private final long minParallelWork;
    private final CpuMoe moe = new CpuMoe(this);
    private final float[][] scoreScratch;     // [member][keys] for attention
    private final int[][] slotScratch;        // [member][keys]

    /** A backend using every available processor. */
    public CpuBackend() { this(Runtime.getRuntime().availableProcessors()); }

    /** A backend whose ops run on {@code threads} threads: the caller plus {@code threads − 1} of its own. */
    public CpuBackend(int threads) { this(threads, DEFAULT_MIN_PARALLEL_WORK); }

    /** As {@link #CpuBackend(int)}, parallelising ops of at least {@code minParallelWork} multiply-adds (tests: 0). */
    CpuBackend(int threads, long minParallelWork) {
        this.team = new CpuThreads(threads);
        this.minParallelWork = minParallelWork;
        this.scoreScratch = new float[threads][0];
        this.slotScratch = new int[threads][0];
    }

    @Override
    public String name() { return "cpu"; }

    /** Threads an op may use, the caller included. */
    public int threads() { return team.size(); }

    /** The backend's own threads, for tests. */
    List<Thread> teamThreads() { return team.threads(); }

    /**
     * Runs {@code body} over {@code items} independent items, each worth {@code workPerItem} multiply-adds, in chunks
     * aligned to {@code align}: on the team when there is enough work, else inline.
     */
    void parallel(int items, int align, long workPerItem, CpuThreads.Body body) {
        if (team.size() == 1 || (long) items * workPerItem < minParallelWork) body.run(0, items, 0);
        else team.forEach(items, align, body);
    }

    @Override
    public void embed(int[] tokens, Matrix table, Activations out) {
        HostMatrix m = (HostMatrix) table;
        float[] o = data(out);
        int cols = m.cols();
        for (int token : tokens)
            if (token < 0 || token >= m.rows())
                throw new IllegalArgumentException("token id " + token + " is outside the vocabulary 0.." + (m.rows() - 1));
        parallel(tokens.length, 1, cols, (start, end, member) -> {
            for (int t = start; t < end; t++) Bf16Kernels.widen(m.data(), 2L * tokens[t] * cols, cols, o, t * cols);
        });
    }

    @Override
    public void rmsNorm(Activations x, Vec gain, float eps, Activations out) {
        float[] in = data(x), o = data(out), g = ((HostVec) gain).values();
        int n = x.cols();
        parallel(x.rows(), 1, n, (start, end, member) -> {
            for (int t = start; t < end; t++) rmsNormRow(in, g, eps, o, t * n, n);
        });
    }

    private static void rmsNormRow(float[] in, float[] g, float eps, float[] o, int base, int n) {
        FloatVector acc = FloatVector.zero(F);
        int i = 0;
        for (int upper = F.loopBound(n); i < upper; i += L) {
            FloatVector v = FloatVector.fromArray(F, in, base + i);
            acc = v.fma(v, acc);
        }
        float sum = acc.reduceLanes(VectorOperators.ADD);
        for (; i < n; i++) sum += in[base + i] * in[base + i];
        float inv = (float) (1.0 / Math.sqrt(sum / n + eps));
        i = 0;
        for (int upper = F.loopBound(n); i < upper; i += L)
            FloatVector.fromArray(F, in, base + i).mul(inv).mul(FloatVector.fromArray(F, g, i)).intoArray(o, base + i);
        for (; i < n; i++) o[base + i] = in[base + i] * inv * g[i];
    }

    @Override
    public void linear(Activations x, Matrix w, Vec bias, Activations out) {
        HostMatrix m = (HostMatrix) w;
        int rows = m.rows(), cols = m.cols(), tokens = x.rows();
        if (x.cols() != cols || out.rows() != tokens || out.cols() != rows)
            throw new IllegalArgumentException("linear: x " + x.rows() + "x" + x.cols() + ", W " + rows + "x" + cols
                    + ", out " + out.rows() + "x" + out.cols());
        float[] in = data(x), o = data(out), b = bias == null ? null : ((HostVec) bias).values();
        // NOTE: one method per path, so that the JIT's profile of batch-1 decode does not shape the batched code.
        parallel(rows, 4, (long) cols * tokens, (start, end, member) -> {
            if (tokens == 1) linearOneToken(m, in, o, start, end);
            else linearBatch(m, in, tokens, o, start, end);
            if (b != null)
                for (int t = 0; t < tokens; t++)
                    for (int r = start; r < end; r++) o[t * rows + r] += b[r];
        });
    }

    /** Output columns {@code [start, end)} of a linear for one token: four rows share each load of x. */
    private static void linearOneToken(HostMatrix m, float[] in, float[] o, int start, int end) {
        int r = start;
        for (; r + 4 <= end; r += 4) Bf16Kernels.dot4Rows(m.data(), r, m.cols(), in, 0, o, r);
        for (; r < end; r++) o[r] = Bf16Kernels.dot(m.data(), r, m.cols(), in, 0);
    }

    /**
     * Output columns {@code [start, end)} of a linear for several tokens: tiles of two rows by four tokens, tokens in
     * blocks whose activations stay in L2 while the rows stream past.
     */
    private static void linearBatch(HostMatrix m, float[] in, int tokens, float[] o, int start, int end) {
        int rows = m.rows(), cols = m.cols();
        int block = Math.max(4, TOKEN_BLOCK_BYTES / (4 * cols) & ~3);
        float[] out8 = new float[8];
        for (int t0 = 0; t0 < tokens; t0 += block) {
            int last = Math.min(tokens, t0 + block) - 1;
            int r = start;
            for (; r + 2 <= end; r += 2)
                for (int t = t0; t <= last; t += 4) {
                    int ta = t, tb = Math.min(t + 1, last), tc = Math.min(t + 2, last), td = Math.min(t + 3, last);
                    Bf16Kernels.dot2Rows4Tokens(m.data(), r, cols, in, ta * cols, tb * cols, tc * cols, td * cols, out8);
                    o[ta * rows + r] = out8[0];
                    o[tb * rows + r] = out8[1];
                    o[tc * rows + r] = out8[2];
                    o[td * rows + r] = out8[3];
                    o[ta * rows + r + 1] = out8[4];
                    o[tb * rows + r + 1] = out8[5];
                    o[tc * rows + r + 1] = out8[6];
                    o[td * rows + r + 1] = out8[7];
                }
            for (; r < end; r++)
                for (int t = t0; t <= last; t += 4) {
                    int ta = t, tb = Math.min(t + 1, last), tc = Math.min(t + 2, last), td = Math.min(t + 3, last);
                    Bf16Kernels.dot4Tokens(m.data(), r, cols, in, ta * cols, tb * cols, tc * cols, td * cols,
                            o, ta * rows + r, tb * rows + r, tc * rows + r, td * rows + r);
                }
        }
    }

    @Override
    public void rope(Activations x, int headDim, int[] positions, float[] invFreq, float concentration) {
        float[] d = data(x);
        int cols = x.cols();
        parallel(x.rows(), 1, cols, (start, end, member) -> {
            int half = headDim / 2;
            float[] cos = new float[half], sin = new float[half];
            for (int t = start; t < end; t++) {
                for (int i = 0; i < half; i++) {
                    float angle = (float) positions[t] * invFreq[i];
                    cos[i] = (float) Math.cos(angle) * concentration;
                    sin[i] = (float) Math.sin(angle) * concentration;
                }
                for (int base = t * cols; base < (t + 1) * cols; base += headDim) rotate(d, base, half, cos, sin);
            }
        });
    }

    /** One head, NeoX half-split: {@code (x1, x2) → (x1·cos − x2·sin, x2·cos + x1·sin)}, rounded as the scalar loop. */
    private static void rotate(float[] d, int base, int half, float[] cos, float[] sin) {
        int i = 0;
        for (int upper = F.loopBound(half); i < upper; i += L) {
            FloatVector x1 = FloatVector.fromArray(F, d, base + i), x2 = FloatVector.fromArray(F, d, base + half + i);
            FloatVector c = FloatVector.fromArray(F, cos, i), s = FloatVector.fromArray(F, sin, i);
            x1.mul(c).sub(x2.mul(s)).intoArray(d, base + i);
            x2.mul(c).add(x1.mul(s)).intoArray(d, base + half + i);
        }
        for (; i < half; i++) {
            float x1 = d[base + i], x2 = d[base + half + i];
            d[base + i] = x1 * cos[i] - x2 * sin[i];
            d[base + half + i] = x2 * cos[i] + x1 * sin[i];
        }
    }

    @Override
    public void attention(Activations q, KvCache cache, int layer, AttentionBatch batch, Vec sinks, int window,
                          float scale, Activations out) {
        HostKvCache c = (HostKvCache) cache;
        float[] qd = data(q), od = data(out), keys = c.keys()[layer], values = c.values()[layer];
        float[] sink = ((HostVec) sinks).values();
        int hd = c.headDim(), heads = q.cols() / hd, group = heads / c.kvHeads(), w = c.rowWidth();
        int longest = 1;
        for (int p : batch.positions()) longest = Math.max(longest, window > 0 ? Math.min(p + 1, window) : p + 1);
        int keysMax = longest;
        parallel(batch.tokens() * heads, 1, 2L * longest * hd, (start, end, member) -> {
            float[] scores = scoreScratch[member].length >= keysMax ? scoreScratch[member]
                    : (scoreScratch[member] = new float[keysMax]);
            int[] slots = slotScratch[member].length >= keysMax ? slotScratch[member]
                    : (slotScratch[member] = new int[keysMax]);
            for (int item = start; item < end; item++) {
                int t = item / heads, h = item % heads;
                int qOff = t * q.cols() + h * hd, kvOff = (h / group) * hd;
                attend(qd, qOff, keys, values, w, kvOff, hd, batch, t, window, scale, sink[h], scores, slots, od);
            }
        });
    }

    /** One (token, head): scores over the visible keys, softmax with the sink, weighted sum of values. */
    private static void attend(float[] qd, int qOff, float[] keys, float[] values, int w, int kvOff, int hd,
                               AttentionBatch batch, int t, int window, float scale, float sink,
                               float[] scores, int[] slots, float[] od) {
        int pos = batch.positions()[t];
        int first = window > 0 ? Math.max(0, pos - window + 1) : 0, n = pos - first + 1;
        float max = sink;
        for (int j = 0; j < n; j++) {
            int at = (slots[j] = batch.slot(t, first + j)) * w + kvOff;
            float s = dot(qd, qOff, keys, at, hd) * scale;
            scores[j] = s;
            max = Math.max(max, s);
        }
        float denom = (float) Math.exp(sink - max);
        for (int j = 0; j < n; j++) denom += (scores[j] = (float) Math.exp(scores[j] - max));
        Arrays.fill(od, qOff, qOff + hd, 0f);
        for (int j = 0; j < n; j++) axpy(scores[j], values, slots[j] * w + kvOff, od, qOff, hd);
        float inv = 1f / denom;
        int i = 0;
        for (int upper = F.loopBound(hd); i < upper; i += L)
            FloatVector.fromArray(F, od, qOff + i).mul(inv).intoArray(od, qOff + i);
        for (; i < hd; i++) od[qOff + i] *= inv;
    }

    private static float dot(float[] a, int ao, float[] b, int bo, int n) {
        FloatVector acc = FloatVector.zero(F);
        int i = 0;
        for (int upper = F.loopBound(n); i < upper; i += L)
            acc = FloatVector.fromArray(F, a, ao + i).fma(FloatVector.fromArray(F, b, bo + i), acc);
        float sum = acc.reduceLanes(VectorOperators.ADD);
        for (; i < n; i++) sum += a[ao + i] * b[bo + i];
        return sum;
    }

    /** {@code y[yo ..] += a · x[xo ..]} over {@code n} elements. */
    private static void axpy(float a, float[] x, int xo, float[] y, int yo, int n) {
        FloatVector av = FloatVector.broadcast(F, a);
        int i = 0;
        for (int upper = F.loopBound(n); i < upper; i += L)
            FloatVector.fromArray(F, x, xo + i).fma(av, FloatVector.fromArray(F, y, yo + i)).intoArray(y, yo + i);
        for (; i < n; i++) y[yo + i] += a * x[xo + i];
    }

    @Override
    public void moe(Activations x, Moe moe, Activations out) {
        this.moe.run((HostActivations) x, moe, (HostActivations) out);
    }

    @Override
    public void add(Activations x, Activations y) {
        float[] a = data(x), b = data(y);
        if (a.length != b.length) throw new IllegalArgumentException("add: " + a.length + " vs " + b.length + " floats");
        // NOTE: 4096-float chunks; one multiply-add of work per element decides whether to wake the team.
        int chunks = (a.length + 4095) / 4096;
        parallel(chunks, 1, 4096, (start, end, member) -> {
            int i = start * 4096, stop = Math.min(a.length, end * 4096);
            for (int upper = i + F.loopBound(stop - i); i < upper; i += L)
                FloatVector.fromArray(F, a, i).add(FloatVector.fromArray(F, b, i)).intoArray(a, i);
            for (; i < stop; i++) a[i] += b[i];
        });
    }

    @Override
    public void close() { team.close(); }
}
