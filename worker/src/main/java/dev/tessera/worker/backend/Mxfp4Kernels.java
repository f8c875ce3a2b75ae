package dev.tessera.worker.backend;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Vector kernels over MXFP4 rows read in place (gpt-oss.md §3.5): a row of {@code n} inputs is {@code n/32} groups of
 * 16 bytes (element {@code 2b} in the low nibble of byte {@code b}, {@code 2b+1} in the high one) and one E8M0 scale
 * byte per group.
 *
 * <p>The activation must first be {@link #deinterleave deinterleaved}: within each 32-group the 16 even elements, then
 * the 16 odd ones. Low nibbles then meet the even half and high nibbles the odd half lane for lane, with no shuffle
 * of the weights. Nibbles become numbers through a 16-entry byte table holding twice each FP4 value (all integers),
 * are widened to float32 and scaled by {@code 2^(s−128)} (the 2^(s−127) scale with the table's factor two folded in),
 * which is exact. One token takes the fused {@link #dot}; several tokens {@link #decode} a row once into an L1-sized
 * float buffer and run {@link #dot4x2} over two such rows for each four tokens.
 *
 * <p>NOTE: the kernels are written out by hand, with no helper methods that take or return vectors, and they exchange
 * only arrays and numbers. C2 stops inlining ordinary methods once a compilation grows past a node budget (the Vector
 * API's own methods are force-inlined); a vector handed to a call that was not inlined is boxed on the heap, which
 * costs 20×. Where a kernel is inlined into its caller is up to C2, so no kernel may depend on it. A fused kernel for
 * four tokens also grew past that budget on its own, hence decode-then-dot for several tokens. Accumulators start from
 * {@code FloatVector.zero(F)} made in the method: a vector held in a static field as a loop's start value is boxed
 * on every iteration too.
 *
 * <p>NOTE: widening byte lanes to floats is intrinsified only for a part number known when the call is parsed, so
 * each part is named as a constant under a {@code PARTS} guard that C2 folds (4 lanes: parts 0..3; 8: 0..1; 16: 0).
 */
final class Mxfp4Kernels {

    private static final VectorSpecies<Float> F = Bf16Kernels.F;
    private static final int L = F.length();
    private static final VectorSpecies<Byte> B = ByteVector.SPECIES_128;
    /** Float vectors per 16 nibbles. */
    private static final int PARTS = 16 / L;
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    private static final ByteVector TWICE_FP4 =
            ByteVector.fromArray(B, new byte[] {0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12}, 0);
    /** {@code 2^(s−128)} by scale byte; s = 255 (NaN in the MX spec, absent from gpt-oss files) reads as 2^127. */
    private static final float[] HALF_SCALE = new float[256];

    static {
        if (16 % L != 0) throw new ExceptionInInitializerError("MXFP4 kernels need 4, 8 or 16 float lanes, not " + L);
        for (int s = 0; s < 256; s++) HALF_SCALE[s] = Math.scalb(1f, s - 128);   // exact, 2^-128 is subnormal
    }

    private Mxfp4Kernels() {}

    /** Rewrites {@code x[xo .. xo+n)} (n a multiple of 32) into {@code out[oo ..]}: per 32-group, evens then odds. */
    static void deinterleave(float[] x, int xo, int n, float[] out, int oo) {
        for (int g = 0; g < n; g += 32)
            for (int b = 0; b < 16; b++) {
                out[oo + g + b] = x[xo + g + 2 * b];
                out[oo + g + 16 + b] = x[xo + g + 2 * b + 1];
            }
    }

    /** Where element {@code i} of a row lands once deinterleaved. */
    static int deinterleavedIndex(int i) {
        return (i & ~31) | ((i & 1) << 4) | ((i & 31) >>> 1);
    }

    /**
     * Row {@code row} (flat over experts) of a matrix with {@code groups} groups a row, dotted with {@code xd[xo ..]}:
     * decoded and multiplied in one pass (one token).
     */
    static float dot(MemorySegment blocks, MemorySegment scales, long row, int groups, float[] xd, int xo) {
        long bo = row * groups * 16, so = row * groups;
        FloatVector acc = FloatVector.zero(F);
        for (int g = 0; g < groups; g++) {
            ByteVector packed = ByteVector.fromMemorySegment(B, blocks, bo + 16L * g, LE);
            // NOTE: selectFrom wraps each index to the table's 16 lanes, which drops the other nibble for free; the
            // high nibbles come down with a 16-bit shift (x86 has no byte shift).
            ByteVector lo = packed.selectFrom(TWICE_FP4);
            ByteVector hi = packed.reinterpretAsShorts().lanewise(VectorOperators.LSHR, 4).reinterpretAsBytes()
                    .selectFrom(TWICE_FP4);
            int e = xo + 32 * g, o = e + 16;
            FloatVector sum = ((FloatVector) lo.convertShape(VectorOperators.B2F, F, 0))
                    .fma(FloatVector.fromArray(F, xd, e), FloatVector.zero(F));
            sum = ((FloatVector) hi.convertShape(VectorOperators.B2F, F, 0)).fma(FloatVector.fromArray(F, xd, o), sum);
            if (PARTS >= 2) {
                sum = ((FloatVector) lo.convertShape(VectorOperators.B2F, F, 1)).fma(FloatVector.fromArray(F, xd, e + L), sum);
                sum = ((FloatVector) hi.convertShape(VectorOperators.B2F, F, 1)).fma(FloatVector.fromArray(F, xd, o + L), sum);
            }
            if (PARTS == 4) {
                sum = ((FloatVector) lo.convertShape(VectorOperators.B2F, F, 2)).fma(FloatVector.fromArray(F, xd, e + 2 * L), sum);
                sum = ((FloatVector) hi.convertShape(VectorOperators.B2F, F, 2)).fma(FloatVector.fromArray(F, xd, o + 2 * L), sum);
                sum = ((FloatVector) lo.convertShape(VectorOperators.B2F, F, 3)).fma(FloatVector.fromArray(F, xd, e + 3 * L), sum);
                sum = ((FloatVector) hi.convertShape(VectorOperators.B2F, F, 3)).fma(FloatVector.fromArray(F, xd, o + 3 * L), sum);
            }
            acc = sum.fma(FloatVector.broadcast(F, HALF_SCALE[scales.get(ValueLayout.JAVA_BYTE, so + g) & 0xFF]), acc);
        }
        return acc.reduceLanes(VectorOperators.ADD);
    }

    /**
     * Decodes row {@code row} into {@code w[wo .. wo + 32·groups)} as float32 weights, deinterleaved like the
     * activations (exact: small integers times a power of two).
     */
    static void decode(MemorySegment blocks, MemorySegment scales, long row, int groups, float[] w, int wo) {
        long bo = row * groups * 16, so = row * groups;
        for (int g = 0; g < groups; g++) {
            ByteVector packed = ByteVector.fromMemorySegment(B, blocks, bo + 16L * g, LE);
            ByteVector lo = packed.selectFrom(TWICE_FP4);      // NOTE: as in dot
            ByteVector hi = packed.reinterpretAsShorts().lanewise(VectorOperators.LSHR, 4).reinterpretAsBytes()
                    .selectFrom(TWICE_FP4);
            float s = HALF_SCALE[scales.get(ValueLayout.JAVA_BYTE, so + g) & 0xFF];
            int e = wo + 32 * g, o = e + 16;
            ((FloatVector) lo.convertShape(VectorOperators.B2F, F, 0)).mul(s).intoArray(w, e);
            ((FloatVector) hi.convertShape(VectorOperators.B2F, F, 0)).mul(s).intoArray(w, o);
            if (PARTS >= 2) {
                ((FloatVector) lo.convertShape(VectorOperators.B2F, F, 1)).mul(s).intoArray(w, e + L);
                ((FloatVector) hi.convertShape(VectorOperators.B2F, F, 1)).mul(s).intoArray(w, o + L);
            }
            if (PARTS == 4) {
                ((FloatVector) lo.convertShape(VectorOperators.B2F, F, 2)).mul(s).intoArray(w, e + 2 * L);
                ((FloatVector) hi.convertShape(VectorOperators.B2F, F, 2)).mul(s).intoArray(w, o + 2 * L);
                ((FloatVector) lo.convertShape(VectorOperators.B2F, F, 3)).mul(s).intoArray(w, e + 3 * L);
                ((FloatVector) hi.convertShape(VectorOperators.B2F, F, 3)).mul(s).intoArray(w, o + 3 * L);
            }
        }
    }

    /**
     * Two decoded rows, {@code w[0 .. n)} and {@code w[n .. 2n)}, dotted with four deinterleaved activations at
     * {@code x0..x3}: {@code out[r·4 + t]} for row r and token t. Callers with fewer tokens repeat the last one.
     * NOTE: two rows by four tokens keep eight FMA chains busy on six loads; with one row, the activations (four
     * tokens of 2880 floats overflow L1) are loaded twice as often and the loop waits on L2.
     */
    static void dot4x2(float[] w, int n, float[] xd, int x0, int x1, int x2, int x3, float[] out) {
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0, b0 = a0, b1 = a0, b2 = a0, b3 = a0;
        for (int i = 0; i < n; i += L) {
            FloatVector wa = FloatVector.fromArray(F, w, i), wb = FloatVector.fromArray(F, w, n + i);
            FloatVector v = FloatVector.fromArray(F, xd, x0 + i);
            a0 = wa.fma(v, a0);
            b0 = wb.fma(v, b0);
            v = FloatVector.fromArray(F, xd, x1 + i);
            a1 = wa.fma(v, a1);
            b1 = wb.fma(v, b1);
            v = FloatVector.fromArray(F, xd, x2 + i);
            a2 = wa.fma(v, a2);
            b2 = wb.fma(v, b2);
            v = FloatVector.fromArray(F, xd, x3 + i);
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
    }

    /**
     * As {@link #dot4x2} for two tokens at {@code x0, x1}: {@code out[r·2 + t]}; {@code 2L} divides n (32 does).
     * NOTE: two columns an iteration, for eight FMA chains.
     */
    static void dot2x2(float[] w, int n, float[] xd, int x0, int x1, float[] out) {
        FloatVector a0 = FloatVector.zero(F), a1 = a0, b0 = a0, b1 = a0, c0 = a0, c1 = a0, d0 = a0, d1 = a0;
        for (int i = 0; i < n; i += 2 * L) {
            FloatVector wa = FloatVector.fromArray(F, w, i), wb = FloatVector.fromArray(F, w, n + i);
            FloatVector wc = FloatVector.fromArray(F, w, i + L), wd = FloatVector.fromArray(F, w, n + i + L);
            FloatVector v = FloatVector.fromArray(F, xd, x0 + i), u = FloatVector.fromArray(F, xd, x0 + i + L);
            a0 = wa.fma(v, a0);
            b0 = wb.fma(v, b0);
            c0 = wc.fma(u, c0);
            d0 = wd.fma(u, d0);
            v = FloatVector.fromArray(F, xd, x1 + i);
            u = FloatVector.fromArray(F, xd, x1 + i + L);
            a1 = wa.fma(v, a1);
            b1 = wb.fma(v, b1);
            c1 = wc.fma(u, c1);
            d1 = wd.fma(u, d1);
        }
        out[0] = a0.add(c0).reduceLanes(VectorOperators.ADD);
        out[1] = a1.add(c1).reduceLanes(VectorOperators.ADD);
        out[2] = b0.add(d0).reduceLanes(VectorOperators.ADD);
        out[3] = b1.add(d1).reduceLanes(VectorOperators.ADD);
    }
}
