package dev.tessera.worker.checkpoint;

import dev.tessera.worker.Fixtures;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import org.junit.jupiter.api.Test;

/** MXFP4 decoding against bytes worked by hand (gpt-oss.md §3.5, §8). */
class Mxfp4Test {

    private static float[] decode(byte[] blocks, byte[] scales, int groups) {
        float[] out = new float[groups * 32];
        Mxfp4.decodeRow(MemorySegment.ofArray(blocks), 0, MemorySegment.ofArray(scales), 0, groups, out, 0);
        return out;
    }

    @Test
    void tableMatchesE2M1() {
        assertArrayEquals(new float[] {0f, 0.5f, 1f, 1.5f, 2f, 3f, 4f, 6f, -0f, -0.5f, -1f, -1.5f, -2f, -3f, -4f, -6f},
                Mxfp4.values());
        assertEquals(-6f, Mxfp4.fp4(0xF));
    }

    @Test
    void scaleIsAnExactPowerOfTwo() {
        assertEquals(1f, Mxfp4.scale(127));
        assertEquals(8f, Mxfp4.scale(130));
        assertEquals(0.5f, Mxfp4.scale(126));
        assertEquals(Math.scalb(1f, -127), Mxfp4.scale(0)); // subnormal, still exact
        assertEquals(Math.scalb(1f, 127), Mxfp4.scale(254));
        assertTrue(Float.isNaN(Mxfp4.scale(255)));
    }

    @Test
    void byte0x2FIsLowNibbleFirst() {
        byte[] blocks = new byte[16];
        blocks[0] = 0x2F;
        float[] at127 = decode(blocks, new byte[] {127}, 1);
        assertEquals(-6.0f, at127[0]);
        assertEquals(1.0f, at127[1]);
        float[] at130 = decode(blocks, new byte[] {(byte) 130}, 1);
        assertEquals(-48.0f, at130[0]);
        assertEquals(8.0f, at130[1]);
    }

    @Test
    void wholeGroupOf32ByHand() {
        // byte b = (15 - b) << 4 | b: element 2b is code b, element 2b+1 is code 15 - b; scale 128 doubles everything
        byte[] blocks = {
            (byte) 0xF0, (byte) 0xE1, (byte) 0xD2, (byte) 0xC3, (byte) 0xB4, (byte) 0xA5, (byte) 0x96, (byte) 0x87,
            0x78, 0x69, 0x5A, 0x4B, 0x3C, 0x2D, 0x1E, 0x0F,
        };
        float[] expected = {
            0, -12, 1, -8, 2, -6, 3, -4, 4, -3, 6, -2, 8, -1, 12, -0f,
            -0f, 12, -1, 8, -2, 6, -3, 4, -4, 3, -6, 2, -8, 1, -12, 0,
        };
        assertArrayEquals(expected, decode(blocks, new byte[] {(byte) 128}, 1));
    }

    @Test
    void groupsUseTheirOwnScaleAndOffsetsAreBytes() {
        // two rows of two groups, decoding row 1 only; every code byte 0x21 (elements +0.5, +1.0)
        byte[] blocks = new byte[2 * 2 * 16];
        java.util.Arrays.fill(blocks, (byte) 0x21);
        byte[] scales = {0, 0, (byte) 127, (byte) 125};
        float[] out = new float[1 + 64];
        Mxfp4.decodeRow(MemorySegment.ofArray(blocks), 32, MemorySegment.ofArray(scales), 2, 2, out, 1);
        assertEquals(0f, out[0]); // before outOffset: untouched
        assertEquals(0.5f, out[1]);
        assertEquals(1.0f, out[2]);
        assertEquals(0.125f, out[33]);
        assertEquals(0.25f, out[64]);
    }

    @Test
    void fixtureExpertDequantisesToTableValuesTimesPowersOfTwo() {
        try (Checkpoint c = Checkpoint.open(Fixtures.tiny())) {
            Tensor blocks = c.tensor("model.layers.0.mlp.experts.gate_up_proj_blocks");
            Tensor scales = c.tensor("model.layers.0.mlp.experts.gate_up_proj_scales");
            int expert = 5, groups = 4, rows = 128;
            float[] w = Mxfp4.dequantize(blocks, scales, expert);
            assertEquals(rows * groups * 32, w.length);
            int nonZero = 0;
            for (float v : w) {
                if (v == 0) continue;
                nonZero++;
                float m = Math.abs(v) / Math.scalb(1f, Math.getExponent(v)); // mantissa in [1, 2)
                assertTrue(m == 1f || m == 1.5f, "not an E2M1 value times a power of two: " + v);
            }
            assertTrue(nonZero > w.length / 2);
            // one element by hand: row 7, column 2·3+1 of group 2 is the high nibble of byte 3
            long row = (long) expert * rows + 7;
            int packed = (int) blocks.getLong((row * groups + 2) * 16 + 3);
            int s = (int) scales.getLong(row * groups + 2);
            assertEquals(Mxfp4.fp4(packed >>> 4) * Math.scalb(1f, s - 127), w[7 * 128 + 2 * 32 + 7]);
        }
    }

    @Test
    void dequantizeRejectsWhatIsNotMxfp4() {
        try (Checkpoint c = Checkpoint.open(Fixtures.tiny())) {
            Tensor blocks = c.tensor("model.layers.0.mlp.experts.gate_up_proj_blocks");
            Tensor wrongScales = c.tensor("model.layers.0.mlp.experts.down_proj_scales");
            var e = assertThrows(CheckpointException.class, () -> Mxfp4.dequantize(blocks, wrongScales, 0));
            assertTrue(e.getMessage().contains("down_proj_scales"), e.getMessage());
            assertThrows(IndexOutOfBoundsException.class,
                    () -> Mxfp4.dequantize(blocks, c.tensor("model.layers.0.mlp.experts.gate_up_proj_scales"), 8));
        }
    }
}
