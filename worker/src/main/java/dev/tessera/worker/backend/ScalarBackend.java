package dev.tessera.worker.backend;

import dev.tessera.worker.checkpoint.Mxfp4;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * The plain-loop definition of every backend op: one thread, no vectors, sums in double. It is the reference the
 * faster backends are tested against, and slow on purpose; nothing in it is clever.
 */
public final class ScalarBackend extends HostBackend {

    private static final ValueLayout.OfShort BF16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    @Override
    public String name() { return "scalar"; }

    static float bf16(MemorySegment data, long index) {
        return Float.intBitsToFloat((data.get(BF16, 2 * index) & 0xFFFF) << 16);
    }

    @Override
    public void embed(int[] tokens, Matrix table, Activations out) {
        HostMatrix m = (HostMatrix) table;
        float[] o = data(out);
        for (int t = 0; t < tokens.length; t++) {
            if (tokens[t] < 0 || tokens[t] >= m.rows())
                throw new IllegalArgumentException("token id " + tokens[t] + " is outside the vocabulary 0.." + (m.rows() - 1));
            for (int c = 0; c < m.cols(); c++) o[t * m.cols() + c] = bf16(m.data(), (long) tokens[t] * m.cols() + c);
        }
    }

    @Override
    public void rmsNorm(Activations x, Vec gain, float eps, Activations out) {
        float[] in = data(x), o = data(out), g = ((HostVec) gain).values();
        int n = x.cols();
        for (int t = 0; t < x.rows(); t++) {
            double sum = 0;
            for (int i = 0; i < n; i++) sum += (double) in[t * n + i] * in[t * n + i];
            float inv = (float) (1.0 / Math.sqrt((float) (sum / n) + eps));
            for (int i = 0; i < n; i++) o[t * n + i] = in[t * n + i] * inv * g[i];
        }
    }

    @Override
    public void linear(Activations x, Matrix w, Vec bias, Activations out) {
        HostMatrix m = (HostMatrix) w;
        float[] in = data(x), o = data(out), b = bias == null ? null : ((HostVec) bias).values();
        int k = m.cols();
        for (int t = 0; t < x.rows(); t++) {
            for (int r = 0; r < m.rows(); r++) {
                double sum = 0;
                for (int i = 0; i < k; i++) sum += (double) in[t * k + i] * bf16(m.data(), (long) r * k + i);
                o[t * m.rows() + r] = (float) sum + (b == null ? 0f : b[r]);
            }
        }
    }

    @Override
    public void rope(Activations x, int headDim, int[] positions, float[] invFreq, float concentration) {
        float[] d = data(x);
        int half = headDim / 2, heads = x.cols() / headDim;
        for (int t = 0; t < x.rows(); t++) {
            for (int i = 0; i < half; i++) {
                float angle = (float) positions[t] * invFreq[i];
                float cos = (float) Math.cos(angle) * concentration, sin = (float) Math.sin(angle) * concentration;
                for (int h = 0; h < heads; h++) {
                    int base = t * x.cols() + h * headDim;
                    float x1 = d[base + i], x2 = d[base + i + half];
                    d[base + i] = x1 * cos - x2 * sin;
                    d[base + i + half] = x2 * cos + x1 * sin;
                }
            }
        }
    }

    @Override
    public void attention(Activations q, KvCache cache, int layer, AttentionBatch batch, Vec sinks, int window,
                          float scale, Activations out) {
        HostKvCache c = (HostKvCache) cache;
        float[] qd = data(q), od = data(out), keys = c.keys()[layer], values = c.values()[layer];
        float[] sink = ((HostVec) sinks).values();
        int hd = c.headDim(), heads = q.cols() / hd, group = heads / c.kvHeads(), w = c.rowWidth();
        for (int t = 0; t < batch.tokens(); t++) {
            int pos = batch.positions()[t];
            int first = window > 0 ? Math.max(0, pos - window + 1) : 0;
            for (int h = 0; h < heads; h++) {
                int kvOff = (h / group) * hd, qOff = t * q.cols() + h * hd;
                double[] scores = new double[pos - first + 1];
                double max = sink[h];
                for (int p = first; p <= pos; p++) {
                    int slot = batch.slot(t, p);
                    double dot = 0;
                    for (int i = 0; i < hd; i++) dot += (double) qd[qOff + i] * keys[slot * w + kvOff + i];
                    scores[p - first] = (float) dot * scale;
                    max = Math.max(max, scores[p - first]);
                }
                double denom = Math.exp(sink[h] - max);
                for (int j = 0; j < scores.length; j++) denom += (scores[j] = Math.exp(scores[j] - max));
                for (int i = 0; i < hd; i++) {
                    double acc = 0;
                    for (int p = first; p <= pos; p++) acc += scores[p - first] * values[batch.slot(t, p) * w + kvOff + i];
                    od[qOff + i] = (float) (acc / denom);
                }
            }
        }
    }

    @Override
    public void moe(Activations x, Moe moe, Activations out) {
        HostExperts ex = (HostExperts) moe.experts();
        float[] in = data(x), o = data(out);
        int hidden = ex.hidden(), inter = ex.intermediate(), k = moe.expertsPerToken();
        Activations logits = allocate(x.rows(), ex.count());
        linear(x, moe.router(), moe.routerBias(), logits);
        float[] l = data(logits);
        for (int t = 0; t < x.rows(); t++) {
            int[] chosen = topK(l, t * ex.count(), ex.count(), k);
            float[] weights = softmax(l, t * ex.count(), chosen);
            float[] row = java.util.Arrays.copyOfRange(in, t * hidden, (t + 1) * hidden);
            double[] acc = new double[hidden];
            for (int j = 0; j < k; j++) {
                int e = chosen[j];
                float[] h = new float[2 * inter];
                for (int r = 0; r < 2 * inter; r++)
                    h[r] = mxfp4Dot(ex.gateUpBlocks(), ex.gateUpScales(), (long) e * 2 * inter + r, row, hidden)
                            + ex.gateUpBias()[e * 2 * inter + r];
                float[] a = new float[inter];
                for (int u = 0; u < inter; u++) a[u] = swiglu(h[2 * u], h[2 * u + 1], moe.swigluLimit(), moe.swigluAlpha());
                for (int r = 0; r < hidden; r++) {
                    float y = mxfp4Dot(ex.downBlocks(), ex.downScales(), (long) e * hidden + r, a, inter)
                            + ex.downBias()[e * hidden + r];
                    acc[r] += (double) weights[j] * y;
                }
            }
            for (int r = 0; r < hidden; r++) o[t * hidden + r] = (float) acc[r];
        }
    }

    /** The k largest of {@code values[offset .. offset+n)}, largest first; ties go to the lower index. */
    static int[] topK(float[] values, int offset, int n, int k) {
        int[] chosen = new int[k];
        boolean[] taken = new boolean[n];
        for (int j = 0; j < k; j++) {
            int best = -1;
            for (int e = 0; e < n; e++)
                if (!taken[e] && (best < 0 || values[offset + e] > values[offset + best])) best = e;
            taken[best] = true;
            chosen[j] = best;
        }
        return chosen;
    }

    /** Softmax over the chosen logits only (gpt-oss routes top-k first, then normalises). */
    static float[] softmax(float[] logits, int offset, int[] chosen) {
        float max = Float.NEGATIVE_INFINITY;
        for (int e : chosen) max = Math.max(max, logits[offset + e]);
        float[] w = new float[chosen.length];
        float sum = 0;
        for (int j = 0; j < chosen.length; j++) sum += (w[j] = (float) Math.exp(logits[offset + chosen[j]] - max));
        for (int j = 0; j < chosen.length; j++) w[j] /= sum;
        return w;
    }

    /** The clamped SwiGLU of gpt-oss: gate clamped above, up clamped both ways, quick-GELU form, +1 on up. */
    static float swiglu(float gate, float up, float limit, float alpha) {
        float g = Math.min(gate, limit);
        float u = Math.max(-limit, Math.min(up, limit));
        return g * (1f / (1f + (float) Math.exp(-alpha * g))) * (u + 1f);
    }

    /** Row {@code row} of an MXFP4 matrix (flattened over experts) dotted with {@code x[0..n)}. */
    private static float mxfp4Dot(MemorySegment blocks, MemorySegment scales, long row, float[] x, int n) {
        int groups = n / 32;
        double sum = 0;
        for (int g = 0; g < groups; g++) {
            double scale = Mxfp4.scale(scales.get(ValueLayout.JAVA_BYTE, row * groups + g) & 0xFF);
            for (int b = 0; b < 16; b++) {
                int packed = blocks.get(ValueLayout.JAVA_BYTE, (row * groups + g) * 16 + b) & 0xFF;
                sum += scale * ((double) Mxfp4.fp4(packed & 0xF) * x[g * 32 + 2 * b] + (double) Mxfp4.fp4(packed >>> 4) * x[g * 32 + 2 * b + 1]);
            }
        }
        return (float) sum;
    }

    @Override
    public void add(Activations x, Activations y) {
        float[] a = data(x), b = data(y);
        for (int i = 0; i < a.length; i++) a[i] += b[i];
    }
}
