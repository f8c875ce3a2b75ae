package dev.tessera.worker.verify;

import dev.tessera.worker.checkpoint.Checkpoint;
import dev.tessera.worker.checkpoint.Mxfp4;
import dev.tessera.worker.checkpoint.Tensor;
import dev.tessera.worker.model.ModelConfig;

/**
 * gpt-oss written a second time, the way transformers' eager code reads: the whole sequence at once, dense masks,
 * every expert dequantised, float64 throughout, no KV cache, no backend. It shares nothing with the engine but the
 * checkpoint reader, so golden files it writes for synthetic checkpoints check the engine's plumbing on shapes the
 * fixture does not have (head sizes, windows, expert counts, k).
 */
final class ReferenceModel {

    private final Checkpoint ckpt;
    private final ModelConfig c;

    ReferenceModel(Checkpoint ckpt, ModelConfig c) {
        this.ckpt = ckpt;
        this.c = c;
    }

    /** Logits [T][V] and hidden states [L+1][T][H] (the last one after the final norm), as transformers reports them. */
    record Output(double[][] logits, double[][][] hidden) {}

    Output forward(int[] ids) {
        int t = ids.length, h = c.hiddenSize(), layers = c.numLayers();
        double[][][] hidden = new double[layers + 1][][];
        double[][] x = new double[t][];
        Tensor embed = ckpt.tensor("model.embed_tokens.weight");
        for (int i = 0; i < t; i++) x[i] = row(embed, ids[i], h);
        hidden[0] = copy(x);
        for (int l = 0; l < layers; l++) {
            String p = "model.layers." + l + ".";
            double[][] a = attention(norm(x, ckpt.tensor(p + "input_layernorm.weight")), l, p);
            for (int i = 0; i < t; i++) for (int j = 0; j < h; j++) x[i][j] += a[i][j];
            double[][] m = moe(norm(x, ckpt.tensor(p + "post_attention_layernorm.weight")), p);
            for (int i = 0; i < t; i++) for (int j = 0; j < h; j++) x[i][j] += m[i][j];
            hidden[l + 1] = copy(x);
        }
        double[][] normed = norm(x, ckpt.tensor("model.norm.weight"));
        hidden[layers] = normed;
        return new Output(linear(normed, ckpt.tensor("lm_head.weight"), null), hidden);
    }

    private double[][] attention(double[][] x, int layer, String p) {
        int t = x.length, hd = c.headDim(), heads = c.numHeads(), group = heads / c.numKvHeads();
        double[][] q = linear(x, ckpt.tensor(p + "self_attn.q_proj.weight"), ckpt.tensor(p + "self_attn.q_proj.bias"));
        double[][] k = linear(x, ckpt.tensor(p + "self_attn.k_proj.weight"), ckpt.tensor(p + "self_attn.k_proj.bias"));
        double[][] v = linear(x, ckpt.tensor(p + "self_attn.v_proj.weight"), ckpt.tensor(p + "self_attn.v_proj.bias"));
        rotate(q, heads);
        rotate(k, c.numKvHeads());
        Tensor sinks = ckpt.tensor(p + "self_attn.sinks");
        double[][] out = new double[t][heads * hd];
        for (int head = 0; head < heads; head++) {
            int kvHead = head / group;
            double sink = sinks.getFloat(head);
            for (int i = 0; i < t; i++) {
                double[] w = new double[t];
                double max = sink;
                for (int j = 0; j <= i; j++) {
                    boolean visible = !c.isSliding(layer) || j > i - c.slidingWindow();
                    if (!visible) { w[j] = Double.NEGATIVE_INFINITY; continue; }
                    double dot = 0;
                    for (int d = 0; d < hd; d++) dot += q[i][head * hd + d] * k[j][kvHead * hd + d];
                    w[j] = dot / Math.sqrt(hd);
                    max = Math.max(max, w[j]);
                }
                double denom = Math.exp(sink - max);
                for (int j = 0; j <= i; j++) denom += (w[j] = Math.exp(w[j] - max));
                for (int j = 0; j <= i; j++)
                    for (int d = 0; d < hd; d++) out[i][head * hd + d] += w[j] / denom * v[j][kvHead * hd + d];
            }
        }
        return linear(out, ckpt.tensor(p + "self_attn.o_proj.weight"), ckpt.tensor(p + "self_attn.o_proj.bias"));
    }

    /** YaRN in float64, straight from the formulas of gpt-oss.md §2.3. */
    private void rotate(double[][] x, int heads) {
        ModelConfig.Rope r = c.rope();
        int d = c.headDim(), half = d / 2;
        double low = d * Math.log(r.originalMaxPositions() / (r.betaFast() * 2 * Math.PI)) / (2 * Math.log(r.theta()));
        double high = d * Math.log(r.originalMaxPositions() / (r.betaSlow() * 2 * Math.PI)) / (2 * Math.log(r.theta()));
        double concentration = 0.1 * Math.log(r.factor()) + 1;
        for (int pos = 0; pos < x.length; pos++) {
            for (int i = 0; i < half; i++) {
                double freq = Math.pow(r.theta(), 2.0 * i / d);
                double ramp = Math.min(1, Math.max(0, (i - low) / (high - low)));
                double inv = (1 / (r.factor() * freq)) * ramp + (1 / freq) * (1 - ramp);
                double cos = Math.cos(pos * inv) * concentration, sin = Math.sin(pos * inv) * concentration;
                for (int head = 0; head < heads; head++) {
                    double a = x[pos][head * d + i], b = x[pos][head * d + i + half];
                    x[pos][head * d + i] = a * cos - b * sin;
                    x[pos][head * d + i + half] = b * cos + a * sin;
                }
            }
        }
    }

    private double[][] moe(double[][] x, String p) {
        int t = x.length, h = c.hiddenSize(), inter = c.intermediateSize(), e = c.numExperts(), k = c.expertsPerToken();
        double[][] logits = linear(x, ckpt.tensor(p + "mlp.router.weight"), ckpt.tensor(p + "mlp.router.bias"));
        Tensor guB = ckpt.tensor(p + "mlp.experts.gate_up_proj_blocks"), guS = ckpt.tensor(p + "mlp.experts.gate_up_proj_scales");
        Tensor dB = ckpt.tensor(p + "mlp.experts.down_proj_blocks"), dS = ckpt.tensor(p + "mlp.experts.down_proj_scales");
        Tensor guBias = ckpt.tensor(p + "mlp.experts.gate_up_proj_bias"), dBias = ckpt.tensor(p + "mlp.experts.down_proj_bias");
        double[][] out = new double[t][h];
        for (int expert = 0; expert < e; expert++) {
            float[] w1 = Mxfp4.dequantize(guB, guS, expert), w2 = Mxfp4.dequantize(dB, dS, expert);
            for (int i = 0; i < t; i++) {
                double weight = routingWeight(logits[i], expert, k);
                if (weight == 0) continue;
                double[] act = new double[inter];
                for (int u = 0; u < inter; u++) {
                    double gate = guBias.getFloat((long) expert * 2 * inter + 2 * u), up = guBias.getFloat((long) expert * 2 * inter + 2 * u + 1);
                    for (int j = 0; j < h; j++) {
                        gate += x[i][j] * w1[(2 * u) * h + j];
                        up += x[i][j] * w1[(2 * u + 1) * h + j];
                    }
                    gate = Math.min(gate, c.swigluLimit());
                    up = Math.max(-c.swigluLimit(), Math.min(up, c.swigluLimit()));
                    act[u] = gate / (1 + Math.exp(-c.swigluAlpha() * gate)) * (up + 1);
                }
                for (int j = 0; j < h; j++) {
                    double y = dBias.getFloat((long) expert * h + j);
                    for (int u = 0; u < inter; u++) y += act[u] * w2[j * inter + u];
                    out[i][j] += weight * y;
                }
            }
        }
        return out;
    }

    /** The softmax weight of {@code expert} among the top k logits, or 0 when it is not among them. */
    private static double routingWeight(double[] logits, int expert, int k) {
        int rank = 0;
        for (int j = 0; j < logits.length; j++)
            if (logits[j] > logits[expert] || (logits[j] == logits[expert] && j < expert)) rank++;
        if (rank >= k) return 0;
        double[] sorted = logits.clone();
        java.util.Arrays.sort(sorted);
        double max = sorted[sorted.length - 1], sum = 0;
        for (int j = 0; j < k; j++) sum += Math.exp(sorted[sorted.length - 1 - j] - max);
        return Math.exp(logits[expert] - max) / sum;
    }

    private double[][] norm(double[][] x, Tensor gain) {
        double[][] out = new double[x.length][];
        for (int i = 0; i < x.length; i++) {
            double ms = 0;
            for (double v : x[i]) ms += v * v;
            double inv = 1 / Math.sqrt(ms / x[i].length + c.rmsNormEps());
            out[i] = new double[x[i].length];
            for (int j = 0; j < x[i].length; j++) out[i][j] = x[i][j] * inv * gain.getFloat(j);
        }
        return out;
    }

    private static double[][] linear(double[][] x, Tensor w, Tensor bias) {
        int rows = w.dim(0), cols = w.dim(1);
        double[][] out = new double[x.length][rows];
        for (int r = 0; r < rows; r++) {
            double[] wr = row(w, r, cols);
            for (int i = 0; i < x.length; i++) {
                double s = bias == null ? 0 : bias.getFloat(r);
                for (int j = 0; j < cols; j++) s += x[i][j] * wr[j];
                out[i][r] = s;
            }
        }
        return out;
    }

    private static double[] row(Tensor t, long r, int cols) {
        double[] out = new double[cols];
        for (int j = 0; j < cols; j++) out[j] = t.getFloat(r * cols + j);
        return out;
    }

    private static double[][] copy(double[][] x) {
        double[][] out = new double[x.length][];
        for (int i = 0; i < x.length; i++) out[i] = x[i].clone();
        return out;
    }
}
