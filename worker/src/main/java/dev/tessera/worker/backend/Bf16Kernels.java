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
 */
final class Bf16Kernels {

    static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    static final int L = F.length();
    private static final VectorSpecies<Short> S = VectorSpecies.of(short.class, VectorShape.forBitSize(F.vectorBitSize() / 2));
    private static final VectorSpecies<Integer> I = VectorSpecies.of(int.class, F.vectorShape());
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    private static final ValueLayout.OfShort BF16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(LE);

    private Bf16Kernels() {}

    /** {@code L} bf16 values at byte offset {@code at}, widened to float32. */
    static FloatVector load(MemorySegment w, long at) {
        return ((IntVector) ShortVector.fromMemorySegment(S, w, at, LE).convertShape(VectorOperators.S2I, I, 0))
                .lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
    }

    static float scalar(MemorySegment w, long at) {
        return Float.intBitsToFloat((w.get(BF16, at) & 0xFFFF) << 16);
    }

    /** {@code out[o .. o+n) = w[at/2 .. at/2+n)} widened to float32. */
    static void widen(MemorySegment w, long at, int n, float[] out, int o) {
        int i = 0;
        for (int upper = F.loopBound(n); i < upper; i += L) load(w, at + 2L * i).intoArray(out, o + i);
        for (; i < n; i++) out[o + i] = scalar(w, at + 2L * i);
    }

    /**
     * Four consecutive rows {@code r .. r+3} dotted with one activation row: {@code out[o + j] = W[r+j] · x[xo ..]}.
     * NOTE: four rows share each load of x and give four independent FMA chains (batch-1 decode).
     */
    static void dot4Rows(MemorySegment w, int r, int cols, float[] x, int xo, float[] out, int o) {
        long rowBytes = 2L * cols, a0 = r * rowBytes, a1 = a0 + rowBytes, a2 = a1 + rowBytes, a3 = a2 + rowBytes;
        FloatVector s0 = FloatVector.zero(F), s1 = s0, s2 = s0, s3 = s0;
        int i = 0;
        for (int upper = F.loopBound(cols); i < upper; i += L) {
            FloatVector xv = FloatVector.fromArray(F, x, xo + i);
            long b = 2L * i;
            s0 = load(w, a0 + b).fma(xv, s0);
            s1 = load(w, a1 + b).fma(xv, s1);
            s2 = load(w, a2 + b).fma(xv, s2);
            s3 = load(w, a3 + b).fma(xv, s3);
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
        FloatVector s0 = FloatVector.zero(F), s1 = s0;
        int i = 0;
        for (int upper = F.loopBound(cols) - L; i < upper; i += 2 * L) {
            s0 = load(w, a + 2L * i).fma(FloatVector.fromArray(F, x, xo + i), s0);
            s1 = load(w, a + 2L * (i + L)).fma(FloatVector.fromArray(F, x, xo + i + L), s1);
        }
        for (int upper = F.loopBound(cols); i < upper; i += L) s0 = load(w, a + 2L * i).fma(FloatVector.fromArray(F, x, xo + i), s0);
        float d = s0.add(s1).reduceLanes(VectorOperators.ADD);
        for (; i < cols; i++) d += scalar(w, a + 2L * i) * x[xo + i];
        return d;
    }

    /**
     * Row {@code r} dotted with four activation rows at {@code x0..x3}; results to {@code out[o0..o3]}.
     * NOTE: each weight load feeds four tokens, so a batch streams the weights once per four tokens at most. Callers
     * with fewer than four tokens repeat the last one: the duplicate writes the same value to the same place.
     */
    static void dot4Tokens(MemorySegment w, int r, int cols, float[] x, int x0, int x1, int x2, int x3,
                           float[] out, int o0, int o1, int o2, int o3) {
        long a = r * 2L * cols;
        FloatVector s0 = FloatVector.zero(F), s1 = s0, s2 = s0, s3 = s0;
        int i = 0;
        for (int upper = F.loopBound(cols); i < upper; i += L) {
            FloatVector wv = load(w, a + 2L * i);
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
