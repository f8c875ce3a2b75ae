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
     * places {@code m} in {@code [start[i], start[i+1])}. For place m: {@code xAt[m]} is its token's row in xd,
     * {@code actAt[m]} its row in act, {@code yAt[m]} its row in y, {@code self[m] = m}.
     */
    private record Routing(int[] experts, int[] start, int[] members, float[] weights,
                           int[] xAt, int[] actAt, int[] yAt, int[] self) {
        int active() { return experts.length; }
    }

    void run(HostActivations x, Moe moe, HostActivations out) {
        HostExperts ex = (HostExperts) moe.experts();
        int tokens = x.rows(), hidden = ex.hidden(), inter = ex.intermediate(), k = moe.expertsPerToken();
        if (x.cols() != hidden || out.rows() != tokens || out.cols() != hidden)
            throw new IllegalArgumentException("moe: x " + tokens + "x" + x.cols() + ", hidden " + hidden
                    + ", out " + out.rows() + "x" + out.cols());
        if (tokens == 0) return;
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
        backend.parallel(routing.active() * hidden / 2, 1, 2 * perRow, (s, e, m) -> down(ex, routing, s, e));
        combine(routing, tokens, k, hidden, out.data());
    }

    private Routing route(HostActivations x, Moe moe, int count) {
        int tokens = x.rows(), k = moe.expertsPerToken();
        // NOTE: exactly sized (HostActivations checks its length); router logits are small, unlike the scratch below.
        if (logits == null || logits.length != tokens * count) logits = new float[tokens * count];
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
        int n = tokens * k, hidden = x.cols(), inter = ((HostExperts) moe.experts()).intermediate();
        int[] members = new int[n], xAt = new int[n], actAt = new int[n], yAt = new int[n], self = new int[n];
        for (int a = 0; a < n; a++) members[slotOf[chosen[a]]++] = a;
        for (int m = 0; m < n; m++) {
            xAt[m] = members[m] / k * hidden;
            actAt[m] = members[m] * inter;
            yAt[m] = members[m] * hidden;
            self[m] = m;
        }
        return new Routing(experts, start, members, weights, xAt, actAt, yAt, self);
    }

    /** Row pairs (gate 2u, up 2u+1) flattened over the active experts: {@code unit = i · I + u}. */
    private void gateUp(HostExperts ex, Moe moe, Routing r, int from, int to) {
        int inter = ex.intermediate(), hidden = ex.hidden(), n = r.members().length;
        float limit = moe.swigluLimit(), alpha = moe.swigluAlpha();
        float[] bias = ex.gateUpBias(), act = this.act, gate = new float[n], up = new float[n];
        float[] w = new float[2 * hidden], out8 = new float[8];
        for (int unit = from; unit < to; unit++) {
            int i = unit / inter, u = unit % inter, first = r.start()[i], end = r.start()[i + 1];
            long row = (long) r.experts()[i] * 2 * inter + 2 * u;
            pairDots(ex.gateUpBlocks(), ex.gateUpScales(), row, hidden, xd, r.xAt(), first, end, gate, up, w, out8);
            float bGate = bias[(int) row], bUp = bias[(int) row + 1];
            int at = Mxfp4Kernels.deinterleavedIndex(u);
            for (int m = first; m < end; m++)
                act[r.actAt()[m] + at] = ScalarBackend.swiglu(gate[m] + bGate, up[m] + bUp, limit, alpha);
        }
    }

    /** Pairs of down rows (2p, 2p+1) flattened over the active experts: {@code unit = i · H/2 + p}. */
    private void down(HostExperts ex, Routing r, int from, int to) {
        int inter = ex.intermediate(), hidden = ex.hidden(), pairs = hidden / 2, n = r.members().length;
        float[] bias = ex.downBias(), y = this.y, ya = new float[n], yb = new float[n];
        float[] w = new float[2 * inter], out8 = new float[8];
        for (int unit = from; unit < to; unit++) {
            int i = unit / pairs, o = 2 * (unit % pairs), first = r.start()[i], end = r.start()[i + 1];
            long row = (long) r.experts()[i] * hidden + o;
            pairDots(ex.downBlocks(), ex.downScales(), row, inter, act, r.actAt(), first, end, ya, yb, w, out8);
            float ba = bias[(int) row], bb = bias[(int) row + 1];
            for (int m = first; m < end; m++) {
                y[r.yAt()[m] + o] = ya[m] + ba;
                y[r.yAt()[m] + o + 1] = yb[m] + bb;
            }
        }
    }

    /**
     * {@code ra[m] = W[row] · in[inAt[m] ..]} and {@code rb[m] = W[row+1] · in[inAt[m] ..]} for places {@code m} in
     * {@code [first, end)}, rows of {@code n} inputs. One place takes the fused kernel; more decode both rows once
     * into {@code w} and take four places at a time.
     */
    private static void pairDots(MemorySegment blocks, MemorySegment scales, long row, int n, float[] in, int[] inAt,
                                 int first, int end, float[] ra, float[] rb, float[] w, float[] out8) {
        int groups = n / 32;
        if (end - first == 1) {
            ra[first] = Mxfp4Kernels.dot(blocks, scales, row, groups, in, inAt[first]);
            rb[first] = Mxfp4Kernels.dot(blocks, scales, row + 1, groups, in, inAt[first]);
            return;
        }
        Mxfp4Kernels.decode(blocks, scales, row, groups, w, 0);
        Mxfp4Kernels.decode(blocks, scales, row + 1, groups, w, n);
        int m = first;
        // NOTE: fours, then a pair or a single as a pair (a remainder of three repeats a token in a four).
        for (; end - m >= 3; m += 4) {
            int last = end - 1, b = Math.min(m + 1, last), c = Math.min(m + 2, last), d = Math.min(m + 3, last);
            Mxfp4Kernels.dot4x2(w, n, in, inAt[m], inAt[b], inAt[c], inAt[d], out8);
            ra[m] = out8[0];
            ra[b] = out8[1];
            ra[c] = out8[2];
            ra[d] = out8[3];
            rb[m] = out8[4];
            rb[b] = out8[5];
            rb[c] = out8[6];
            rb[d] = out8[7];
        }
        if (m < end) {
            int b = Math.min(m + 1, end - 1);
            Mxfp4Kernels.dot2x2(w, n, in, inAt[m], inAt[b], out8);
            ra[m] = out8[0];
            ra[b] = out8[1];
            rb[m] = out8[2];
            rb[b] = out8[3];
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
