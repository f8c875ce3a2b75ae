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
 * are widened to float32, multiplied with x and summed per group; the group sum is scaled once by
 * {@code 2^(s−128)} (the 2^(s−127) scale with the table's factor two folded in), which is exact.
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

    /** Row {@code row} (flat over experts) of a matrix with {@code groups} groups a row, dotted with {@code xd[xo ..]}. */
    static float dot(MemorySegment blocks, MemorySegment scales, long row, int groups, float[] xd, int xo) {
        long bo = row * groups * 16, so = row * groups;
        FloatVector acc0 = FloatVector.zero(F), acc1 = acc0;
        int g = 0;
        // NOTE: two groups an iteration keep two independent accumulators in flight.
        for (; g + 1 < groups; g += 2) {
            acc0 = group(blocks, bo + 16L * g, xd, xo + 32 * g).fma(scale(scales, so + g), acc0);
            acc1 = group(blocks, bo + 16L * (g + 1), xd, xo + 32 * (g + 1)).fma(scale(scales, so + g + 1), acc1);
        }
        if (g < groups) acc0 = group(blocks, bo + 16L * g, xd, xo + 32 * g).fma(scale(scales, so + g), acc0);
        return acc0.add(acc1).reduceLanes(VectorOperators.ADD);
    }

    /**
     * Row {@code row} dotted with four deinterleaved activations at {@code x0..x3}; results to {@code out[o0..o3]}.
     * NOTE: the nibbles are decoded once for four tokens; callers with fewer repeat the last token.
     */
    static void dot4(MemorySegment blocks, MemorySegment scales, long row, int groups, float[] xd,
                     int x0, int x1, int x2, int x3, float[] out, int o0, int o1, int o2, int o3) {
        long bo = row * groups * 16, so = row * groups;
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
        for (int g = 0; g < groups; g++) {
            ByteVector packed = ByteVector.fromMemorySegment(B, blocks, bo + 16L * g, LE);
            ByteVector lo = lookup(packed.and((byte) 0x0F)), hi = lookup(packed.lanewise(VectorOperators.LSHR, 4));
            FloatVector g0 = FloatVector.zero(F), g1 = g0, g2 = g0, g3 = g0;
            int xg = 32 * g;
            for (int p = 0; p < PARTS; p++) {
                FloatVector wl = (FloatVector) lo.convertShape(VectorOperators.B2F, F, p);
                FloatVector wh = (FloatVector) hi.convertShape(VectorOperators.B2F, F, p);
                int e = xg + p * L, o = e + 16;
                g0 = wh.fma(FloatVector.fromArray(F, xd, x0 + o), wl.fma(FloatVector.fromArray(F, xd, x0 + e), g0));
                g1 = wh.fma(FloatVector.fromArray(F, xd, x1 + o), wl.fma(FloatVector.fromArray(F, xd, x1 + e), g1));
                g2 = wh.fma(FloatVector.fromArray(F, xd, x2 + o), wl.fma(FloatVector.fromArray(F, xd, x2 + e), g2));
                g3 = wh.fma(FloatVector.fromArray(F, xd, x3 + o), wl.fma(FloatVector.fromArray(F, xd, x3 + e), g3));
            }
            FloatVector s = scale(scales, so + g);
            a0 = g0.fma(s, a0);
            a1 = g1.fma(s, a1);
            a2 = g2.fma(s, a2);
            a3 = g3.fma(s, a3);
        }
        out[o0] = a0.reduceLanes(VectorOperators.ADD);
        out[o1] = a1.reduceLanes(VectorOperators.ADD);
        out[o2] = a2.reduceLanes(VectorOperators.ADD);
        out[o3] = a3.reduceLanes(VectorOperators.ADD);
    }

    /** The unscaled sum over one 32-group, as a vector of partial sums (twice the true FP4 values). */
    private static FloatVector group(MemorySegment blocks, long at, float[] xd, int xo) {
        ByteVector packed = ByteVector.fromMemorySegment(B, blocks, at, LE);
        ByteVector lo = lookup(packed.and((byte) 0x0F)), hi = lookup(packed.lanewise(VectorOperators.LSHR, 4));
        FloatVector sum = FloatVector.zero(F);
        for (int p = 0; p < PARTS; p++) {
            sum = ((FloatVector) lo.convertShape(VectorOperators.B2F, F, p)).fma(FloatVector.fromArray(F, xd, xo + p * L), sum);
            sum = ((FloatVector) hi.convertShape(VectorOperators.B2F, F, p)).fma(FloatVector.fromArray(F, xd, xo + 16 + p * L), sum);
        }
        return sum;
    }

    /** Twice the FP4 value of each 4-bit code. */
    private static ByteVector lookup(ByteVector codes) {
        return TWICE_FP4.rearrange(codes.toShuffle());
    }

    private static FloatVector scale(MemorySegment scales, long at) {
        return FloatVector.broadcast(F, HALF_SCALE[scales.get(ValueLayout.JAVA_BYTE, at) & 0xFF]);
    }
}
