package dev.tessera.worker.backend;

import dev.tessera.worker.backend.Backend.Moe;
import dev.tessera.worker.backend.HostBackend.HostActivations;
import dev.tessera.worker.backend.HostBackend.HostExperts;
import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The MoE block of {@link CpuBackend}, grouped by expert: route every token, gather the tokens of each chosen expert,
 * then stream each chosen expert's MXFP4 rows once for all of its tokens (gate_up with the clamped SwiGLU, then
 * down), and combine each token's k expert outputs with its routing weights in a fixed order.
 *
 * <p>Not thread safe: it keeps grow-only scratch buffers between steps, sized by the largest step seen (about
 * {@code tokens · k · (hidden + intermediate)} floats).
 */
final class CpuMoe {

    private static final VectorSpecies<Float> F = Bf16Kernels.F;
    private static final int L = F.length();

    private final CpuBackend backend;
    private float[] logits = new float[0];       // [T, E]
    private float[] xd = new float[0];           // [T, H] the input, deinterleaved per 32-group
    private float[] act = new float[0];          // [T·k, I] SwiGLU output per assignment, deinterleaved
    private float[] y = new float[0];            // [T·k, H] expert output per assignment, bias included

    CpuMoe(CpuBackend backend) { this.backend = backend; }

    /**
     * The tokens routed to each expert. An assignment {@code a = t·k + j} is token t's j-th choice; {@code members}
     * lists assignments by expert (by token within one), and active expert {@code i} ({@code experts[i]}) owns
     * {@code members[start[i] .. start[i+1])}.
     */
    private record Routing(int[] experts, int[] start, int[] members, float[] weights) {
        int active() { return experts.length; }
    }

    void run(HostActivations x, Moe moe, HostActivations out) {
        HostExperts ex = (HostExperts) moe.experts();
        int tokens = x.rows(), hidden = ex.hidden(), inter = ex.intermediate(), k = moe.expertsPerToken();
        if (x.cols() != hidden || out.rows() != tokens || out.cols() != hidden)
            throw new IllegalArgumentException("moe: x " + tokens + "x" + x.cols() + ", hidden " + hidden
                    + ", out " + out.rows() + "x" + out.cols());
        Routing routing = route(x, moe, ex.count());
        xd = grow(xd, tokens * hidden);
        act = grow(act, tokens * k * inter);
        y = grow(y, tokens * k * hidden);
        float[] in = x.data(), xd = this.xd;
        backend.parallel(tokens, 1, hidden, (s, e, m) -> {
            for (int t = s; t < e; t++) Mxfp4Kernels.deinterleave(in, t * hidden, hidden, xd, t * hidden);
        });
        long perRow = (long) hidden * tokens * k / routing.active();
        backend.parallel(routing.active() * inter, 1, 2 * perRow, (s, e, m) -> gateUp(ex, moe, routing, s, e));
        backend.parallel(routing.active() * hidden, 1, perRow, (s, e, m) -> down(ex, routing, s, e));
        combine(routing, tokens, k, hidden, out.data());
    }

    private Routing route(HostActivations x, Moe moe, int count) {
        int tokens = x.rows(), k = moe.expertsPerToken();
        logits = grow(logits, tokens * count);
        backend.linear(x, moe.router(), moe.routerBias(), new HostActivations(logits, tokens, count));
        int[] chosen = new int[tokens * k];
        float[] weights = new float[tokens * k];
        int[] perExpert = new int[count];
        for (int t = 0; t < tokens; t++) {
            int[] top = ScalarBackend.topK(logits, t * count, count, k);
            float[] w = ScalarBackend.softmax(logits, t * count, top);
            System.arraycopy(top, 0, chosen, t * k, k);
            System.arraycopy(w, 0, weights, t * k, k);
            for (int e : top) perExpert[e]++;
        }
        int active = 0;
        for (int c : perExpert) if (c > 0) active++;
        int[] experts = new int[active], start = new int[active + 1], slotOf = new int[count];
        for (int e = 0, i = 0; e < count; e++)
            if (perExpert[e] > 0) {
                experts[i] = e;
                start[i + 1] = start[i] + perExpert[e];
                slotOf[e] = start[i];
                i++;
            }
        int[] members = new int[tokens * k];
        for (int a = 0; a < tokens * k; a++) members[slotOf[chosen[a]]++] = a;
        return new Routing(experts, start, members, weights);
    }

    /** Row pairs (gate 2u, up 2u+1) flattened over the active experts: {@code unit = i · I + u}. */
    private void gateUp(HostExperts ex, Moe moe, Routing r, int from, int to) {
        int inter = ex.intermediate(), hidden = ex.hidden(), groups = hidden / 32, k = moe.expertsPerToken();
        float limit = moe.swigluLimit(), alpha = moe.swigluAlpha();
        MemorySegment blocks = ex.gateUpBlocks(), scales = ex.gateUpScales();
        float[] bias = ex.gateUpBias(), xd = this.xd, act = this.act, gate = new float[4], up = new float[4];
        int[] tok = new int[4];
        for (int unit = from; unit < to; unit++) {
            int i = unit / inter, u = unit % inter, e = r.experts()[i];
            long rowG = (long) e * 2 * inter + 2 * u, rowU = rowG + 1;
            float bG = bias[(int) rowG], bU = bias[(int) rowU];
            int at = Mxfp4Kernels.deinterleavedIndex(u);
            for (int m = r.start()[i], end = r.start()[i + 1]; m < end; m += 4) {
                int n = Math.min(4, end - m);
                if (n == 1) {
                    int xo = r.members()[m] / k * hidden;
                    gate[0] = Mxfp4Kernels.dot(blocks, scales, rowG, groups, xd, xo);
                    up[0] = Mxfp4Kernels.dot(blocks, scales, rowU, groups, xd, xo);
                } else {
                    for (int j = 0; j < 4; j++) tok[j] = r.members()[m + Math.min(j, n - 1)] / k * hidden;
                    Mxfp4Kernels.dot4(blocks, scales, rowG, groups, xd, tok[0], tok[1], tok[2], tok[3], gate, 0, 1, 2, 3);
                    Mxfp4Kernels.dot4(blocks, scales, rowU, groups, xd, tok[0], tok[1], tok[2], tok[3], up, 0, 1, 2, 3);
                }
                for (int j = 0; j < n; j++)
                    act[r.members()[m + j] * inter + at] = ScalarBackend.swiglu(gate[j] + bG, up[j] + bU, limit, alpha);
            }
        }
    }

    /** Down rows flattened over the active experts: {@code unit = i · H + row}. */
    private void down(HostExperts ex, Routing r, int from, int to) {
        int inter = ex.intermediate(), hidden = ex.hidden(), groups = inter / 32;
        MemorySegment blocks = ex.downBlocks(), scales = ex.downScales();
        float[] bias = ex.downBias(), act = this.act, y = this.y;
        int[] a = new int[4];
        for (int unit = from; unit < to; unit++) {
            int i = unit / hidden, o = unit % hidden, e = r.experts()[i];
            long row = (long) e * hidden + o;
            float b = bias[(int) row];
            for (int m = r.start()[i], end = r.start()[i + 1]; m < end; m += 4) {
                int n = Math.min(4, end - m);
                if (n == 1) {
                    int as = r.members()[m];
                    y[as * hidden + o] = Mxfp4Kernels.dot(blocks, scales, row, groups, act, as * inter) + b;
                    continue;
                }
                for (int j = 0; j < 4; j++) a[j] = r.members()[m + Math.min(j, n - 1)];
                Mxfp4Kernels.dot4(blocks, scales, row, groups, act, a[0] * inter, a[1] * inter, a[2] * inter,
                        a[3] * inter, y, a[0] * hidden + o, a[1] * hidden + o, a[2] * hidden + o, a[3] * hidden + o);
                for (int j = 0; j < n; j++) y[a[j] * hidden + o] += b;
            }
        }
    }

    /** {@code out[t] = Σ_j w[t,j] · y[t·k + j]}, j in routing order. */
    private void combine(Routing r, int tokens, int k, int hidden, float[] out) {
        float[] y = this.y, w = r.weights();
        backend.parallel(tokens, 1, (long) k * hidden, (s, e, m) -> {
            for (int t = s; t < e; t++) {
                int o = t * hidden, i = 0;
                for (int upper = F.loopBound(hidden); i < upper; i += L) {
                    FloatVector acc = FloatVector.zero(F);
                    for (int j = 0; j < k; j++)
                        acc = FloatVector.fromArray(F, y, (t * k + j) * hidden + i).fma(FloatVector.broadcast(F, w[t * k + j]), acc);
                    acc.intoArray(out, o + i);
                }
                for (; i < hidden; i++) {
                    float acc = 0;
                    for (int j = 0; j < k; j++) acc += w[t * k + j] * y[(t * k + j) * hidden + i];
                    out[o + i] = acc;
                }
            }
        });
    }

    private static float[] grow(float[] buf, int n) { return buf.length >= n ? buf : new float[n]; }
}
