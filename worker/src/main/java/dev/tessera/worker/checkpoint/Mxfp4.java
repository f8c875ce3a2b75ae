package dev.tessera.worker.checkpoint;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;

/**
 * MXFP4 as gpt-oss stores its expert weights (gpt-oss.md §3.5): FP4 E2M1 codes two to a byte, 32 to a group,
 * one E8M0 scale byte per group. A matrix [rows, cols] is stored as blocks [rows, cols/32, 16] and scales
 * [rows, cols/32] (with a leading expert dimension in the checkpoint), cut along the input dimension.
 *
 * <p>Element order within a group is the "linear pair" order: byte b holds element 2b in its low nibble and element
 * 2b+1 in its high nibble. (GGML's block_mxfp4 uses a split order; reading these bytes that way gives fluent garbage.)
 */
public final class Mxfp4 {

    /** Elements per group, sharing one scale. */
    public static final int GROUP = 32;
    /** Bytes of codes per group. */
    public static final int GROUP_BYTES = 16;

    private static final float[] E2M1 = {
        +0.0f, +0.5f, +1.0f, +1.5f, +2.0f, +3.0f, +4.0f, +6.0f,
        -0.0f, -0.5f, -1.0f, -1.5f, -2.0f, -3.0f, -4.0f, -6.0f,
    };

    private Mxfp4() {}

    /** The value of a 4-bit E2M1 code (0..15): bit 3 sign, bits 2..1 exponent with bias 1, bit 0 mantissa. */
    public static float fp4(int code) {
        return E2M1[code & 0xF];
    }

    /** The 16 values of the E2M1 table, indexed by code. */
    public static float[] values() {
        return E2M1.clone();
    }

    /** An E8M0 scale byte (0..255) as the factor 2^(s − 127), exact; 255 is NaN per the MX specification. */
    public static float scale(int e8m0) {
        int s = e8m0 & 0xFF;
        return s == 255 ? Float.NaN : Math.scalb(1.0f, s - 127);
    }

    /**
     * Decodes one row of {@code groups} groups: {@code groups × 32} floats into {@code out[outOffset..]}.
     * Element g·32+2b is FP4(byte[g,b] &amp; 0xF)·scale[g] and element g·32+2b+1 is FP4(byte[g,b] &gt;&gt;&gt; 4)·scale[g].
     *
     * @param blockOffset byte offset of the row's first code byte in {@code blocks} (16 bytes per group)
     * @param scaleOffset byte offset of the row's first scale in {@code scales} (1 byte per group)
     */
    public static void decodeRow(MemorySegment blocks, long blockOffset, MemorySegment scales, long scaleOffset,
                                 int groups, float[] out, int outOffset) {
        for (int g = 0; g < groups; g++) {
            float s = scale(scales.get(ValueLayout.JAVA_BYTE, scaleOffset + g));
            long base = blockOffset + (long) g * GROUP_BYTES;
            int o = outOffset + g * GROUP;
            for (int b = 0; b < GROUP_BYTES; b++) {
                int packed = blocks.get(ValueLayout.JAVA_BYTE, base + b);
                out[o + 2 * b] = E2M1[packed & 0xF] * s;
                out[o + 2 * b + 1] = E2M1[(packed >>> 4) & 0xF] * s;
            }
        }
    }

    /**
     * One expert's weight matrix, dequantised to floats on the heap, row-major [rows, cols] with cols = groups·32:
     * for tests and tools, not for serving.
     *
     * @param blocks U8 [experts, rows, groups, 16]
     * @param scales U8 [experts, rows, groups]
     */
    public static float[] dequantize(Tensor blocks, Tensor scales, int expert) {
        long[] bs = blocks.shape(), ss = scales.shape();
        if (blocks.dtype() != DType.U8 || bs.length != 4 || bs[3] != GROUP_BYTES)
            throw new CheckpointException(blocks.file(), blocks.name(), "is " + blocks.dtype() + Arrays.toString(bs)
                    + ", not MXFP4 blocks U8[experts, rows, groups, 16]");
        if (scales.dtype() != DType.U8 || ss.length != 3 || ss[0] != bs[0] || ss[1] != bs[1] || ss[2] != bs[2])
            throw new CheckpointException(scales.file(), scales.name(), "is " + scales.dtype() + Arrays.toString(ss)
                    + ", not the scales U8" + Arrays.toString(Arrays.copyOf(bs, 3)) + " of " + blocks.name());
        if (expert < 0 || expert >= bs[0])
            throw new IndexOutOfBoundsException("expert " + expert + " not in 0.." + (bs[0] - 1) + " of " + blocks.name());
        int rows = Math.toIntExact(bs[1]), groups = Math.toIntExact(bs[2]);
        float[] out = new float[Math.multiplyExact(rows, groups * GROUP)];
        long firstRow = (long) expert * rows;
        for (int r = 0; r < rows; r++) {
            long row = firstRow + r;
            decodeRow(blocks.data(), row * groups * GROUP_BYTES, scales.data(), row * groups, groups, out, r * groups * GROUP);
        }
        return out;
    }
}
