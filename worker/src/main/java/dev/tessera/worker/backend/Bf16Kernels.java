package dev.tessera.worker.backend;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * Vector kernels over bf16 weights read in place (little-endian, row-major {@code [rows, cols]}): rows dotted with
 * float32 activations, summed in float32 lanes. A bf16 is the high half of a float32, so widening is a shift.
 *
 * <p>The float species is chosen once ({@link FloatVector#SPECIES_PREFERRED}); the short species is the one with the
 * same lane count, so one short load yields one float vector. Columns past the last full vector run in a scalar tail.
 *
 * <p>NOTE: the widening is written out in each kernel rather than called: C2 stops inlining ordinary methods once a
 * compilation grows past a node budget, and a vector returned by a call that was not inlined is boxed on the heap
 * (see {@link Mxfp4Kernels}). Kernels exchange only arrays and numbers.
 */
final class Bf16Kernels {

    static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    static final int L = F.length();
    private static final VectorSpecies<Short> S = VectorSpecies.of(short.class, VectorShape.forBitSize(F.vectorBitSize() / 2));
    private static final VectorSpecies<Integer> I = VectorSpecies.of(int.class, F.vectorShape());
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    private static final ValueLayout.OfShort BF16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(LE);

    private Bf16Kernels() {}

    /** The bf16 at byte offset {@code at}, as a float32 (the scalar tails). */
    static float scalar(MemorySegment w, long at) {
        return Float.intBitsToFloat((w.get(BF16, at) & 0xFFFF) << 16);
    }

    /** {@code out[o .. o+n) = w[at/2 .. at/2+n)} widened to float32. */
    static void widen(MemorySegment w, long at, int n, float[] out, int o) {
        int i = 0;
        for (int upper = F.loopBound(n); i < upper; i += L)
            ((IntVector) ShortVector.fromMemorySegment(S, w, at + 2L * i, LE).convertShape(VectorOperators.S2I, I, 0))
                    .lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().intoArray(out, o + i);
        for (; i < n; i++) out[o + i] = scalar(w, at + 2L * i);
    }

    /**
     * Four consecutive rows {@code r .. r+3} dotted with one activation row: {@code out[o + j] = W[r+j] · x[xo ..]}.
     * NOTE: four rows share each load of x and give four independent FMA chains; at batch 1 the weights are read
     * once and used once, so this streams at memory bandwidth.
     */
    static void dot4Rows(MemorySegment w, int r, int cols, float[] x, int xo, float[] out, int o) {
        long rowBytes = 2L * cols, a0 = r * rowBytes, a1 = a0 + rowBytes, a2 = a1 + rowBytes, a3 = a2 + rowBytes;
        FloatVector s0 = FloatVector.zero(F), s1 = s0, s2 = s0, s3 = s0;
        int i = 0;
        for (int upper = F.loopBound(cols); i < upper; i += L) {
            FloatVector xv = FloatVector.fromArray(F, x, xo + i);
            long b = 2L * i;
            s0 = ((IntVector) ShortVector.fromMemorySegment(S, w, a0 + b, LE).convertShape(VectorOperators.S2I, I, 0))
                    .lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().fma(xv, s0);
            s1 = ((IntVector) ShortVector.fromMemorySegment(S, w, a1 + b, LE).convertShape(VectorOperators.S2I, I, 0))
                    .lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().fma(xv, s1);
            s2 = ((IntVector) ShortVector.fromMemorySegment(S, w, a2 + b, LE).convertShape(VectorOperators.S2I, I, 0))
                    .lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().fma(xv, s2);
            s3 = ((IntVector) ShortVector.fromMemorySegment(S, w, a3 + b, LE).convertShape(VectorOperators.S2I, I, 0))
                    .lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().fma(xv, s3);
        }
        float d0 = s0.reduceLanes(VectorOperators.ADD), d1 = s1.reduceLanes(VectorOperators.ADD);
        float d2 = s2.reduceLanes(VectorOperators.ADD), d3 = s3.reduceLanes(VectorOperators.ADD);
        for (; i < cols; i++) {
            float xi = x[xo + i];
            long b = 2L * i;
            d0 += scalar(w, a0 + b) * xi;
            d1 += scalar(w, a1 + b) * xi;
            d2 += scalar(w, a2 + b) * xi;
            d3 += scalar(w, a3 + b) * xi;
        }
        out[o] = d0;
        out[o + 1] = d1;
        out[o + 2] = d2;
        out[o + 3] = d3;
    }

    /** One row dotted with one activation row. */
    static float dot(MemorySegment w, int r, int cols, float[] x, int xo) {
        long a = r * 2L * cols;
        FloatVector s0 = FloatVector.zero(F);
        int i = 0;
        for (int upper = F.loopBound(cols); i < upper; i += L)
            s0 = ((IntVector) ShortVector.fromMemorySegment(S, w, a + 2L * i, LE).convertShape(VectorOperators.S2I, I, 0))
                    .lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().fma(FloatVector.fromArray(F, x, xo + i), s0);
        float d = s0.reduceLanes(VectorOperators.ADD);
        for (; i < cols; i++) d += scalar(w, a + 2L * i) * x[xo + i];
        return d;
    }

    /**
     * Rows {@code r, r+1} dotted with four activation rows at {@code x0..x3}: {@code out[j·4 + t]} for row r+j and
     * token t. Callers with fewer than four tokens repeat the last one.
     * NOTE: each weight load feeds four tokens, so a batch streams the weights once per four tokens at most; two rows
     * give eight independent FMA chains on six loads (one row would wait on FMA latency and reload x twice as often).
     */
    static void dot2Rows4Tokens(MemorySegment w, int r, int cols, float[] x, int x0, int x1, int x2, int x3,
                                float[] out) {
        long a = r * 2L * cols, b = a + 2L * cols;
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0, b0 = a0, b1 = a0, b2 = a0, b3 = a0;
        int i = 0;
        for (int upper = F.loopBound(cols); i < upper; i += L) {
            FloatVector wa = ((IntVector) ShortVector.fromMemorySegment(S, w, a + 2L * i, LE)
                    .convertShape(VectorOperators.S2I, I, 0)).lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
            FloatVector wb = ((IntVector) ShortVector.fromMemorySegment(S, w, b + 2L * i, LE)
                    .convertShape(VectorOperators.S2I, I, 0)).lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
            FloatVector v = FloatVector.fromArray(F, x, x0 + i);
            a0 = wa.fma(v, a0);
            b0 = wb.fma(v, b0);
            v = FloatVector.fromArray(F, x, x1 + i);
            a1 = wa.fma(v, a1);
            b1 = wb.fma(v, b1);
            v = FloatVector.fromArray(F, x, x2 + i);
            a2 = wa.fma(v, a2);
            b2 = wb.fma(v, b2);
            v = FloatVector.fromArray(F, x, x3 + i);
            a3 = wa.fma(v, a3);
            b3 = wb.fma(v, b3);
        }
        out[0] = a0.reduceLanes(VectorOperators.ADD);
        out[1] = a1.reduceLanes(VectorOperators.ADD);
        out[2] = a2.reduceLanes(VectorOperators.ADD);
        out[3] = a3.reduceLanes(VectorOperators.ADD);
        out[4] = b0.reduceLanes(VectorOperators.ADD);
        out[5] = b1.reduceLanes(VectorOperators.ADD);
        out[6] = b2.reduceLanes(VectorOperators.ADD);
        out[7] = b3.reduceLanes(VectorOperators.ADD);
        for (; i < cols; i++) {
            float wa = scalar(w, a + 2L * i), wb = scalar(w, b + 2L * i);
            float v0 = x[x0 + i], v1 = x[x1 + i], v2 = x[x2 + i], v3 = x[x3 + i];
            out[0] += wa * v0;
            out[1] += wa * v1;
            out[2] += wa * v2;
            out[3] += wa * v3;
            out[4] += wb * v0;
            out[5] += wb * v1;
            out[6] += wb * v2;
            out[7] += wb * v3;
        }
    }

    /**
     * Row {@code r} dotted with four activation rows at {@code x0..x3}; results to {@code out[o0..o3]} (the odd row
     * left by {@link #dot2Rows4Tokens}). Callers with fewer than four tokens repeat the last one.
     */
    static void dot4Tokens(MemorySegment w, int r, int cols, float[] x, int x0, int x1, int x2, int x3,
                           float[] out, int o0, int o1, int o2, int o3) {
        long a = r * 2L * cols;
        FloatVector s0 = FloatVector.zero(F), s1 = s0, s2 = s0, s3 = s0;
        int i = 0;
        for (int upper = F.loopBound(cols); i < upper; i += L) {
            FloatVector wv = ((IntVector) ShortVector.fromMemorySegment(S, w, a + 2L * i, LE)
                    .convertShape(VectorOperators.S2I, I, 0)).lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
            s0 = wv.fma(FloatVector.fromArray(F, x, x0 + i), s0);
            s1 = wv.fma(FloatVector.fromArray(F, x, x1 + i), s1);
            s2 = wv.fma(FloatVector.fromArray(F, x, x2 + i), s2);
            s3 = wv.fma(FloatVector.fromArray(F, x, x3 + i), s3);
        }
        float d0 = s0.reduceLanes(VectorOperators.ADD), d1 = s1.reduceLanes(VectorOperators.ADD);
        float d2 = s2.reduceLanes(VectorOperators.ADD), d3 = s3.reduceLanes(VectorOperators.ADD);
        for (; i < cols; i++) {
            float wi = scalar(w, a + 2L * i);
            d0 += wi * x[x0 + i];
            d1 += wi * x[x1 + i];
            d2 += wi * x[x2 + i];
            d3 += wi * x[x3 + i];
        }
        out[o0] = d0;
        out[o1] = d1;
        out[o2] = d2;
        out[o3] = d3;
    }
}
