package dev.tessera.worker.checkpoint;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Files written by SafetensorsWriter read back byte for byte. */
class SafetensorsWriterTest {

    @TempDir Path dir;

    @Test
    void roundTripsEveryDtypeByteForByte() throws IOException {
        byte[] bf16 = {0x00, 0x3F, (byte) 0x80, (byte) 0xBF, (byte) 0x80, 0x7F}; // 0.5, -1.0, +inf as little-endian bf16
        byte[] u8 = {0, 1, (byte) 0xFF, 0x2F};
        float[] f32 = {1.5f, -2.25f, Float.MIN_VALUE, 3e38f, -0f, 7f};
        int[] i32 = {0, -1, Integer.MAX_VALUE, Integer.MIN_VALUE};
        Path f = dir.resolve("rt.safetensors");
        new SafetensorsWriter().metadata("format", "pt")
                .add("bf16", DType.BF16, new long[] {3}, bf16)
                .add("u8", DType.U8, new long[] {2, 2}, u8)
                .addFloats("f32", DType.F32, new long[] {2, 3}, f32)
                .addInts("i32", DType.I32, new long[] {4}, i32)
                .add("empty", DType.F32, new long[] {0, 5}, new byte[0])
                .write(f);

        byte[] raw = Files.readAllBytes(f);
        long headerLength = ByteBuffer.wrap(raw).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
        assertEquals(0, headerLength % 8, "header length " + headerLength);
        assertEquals(8 + headerLength + 6 + 4 + 24 + 16, raw.length);
        assertFalse(Files.exists(dir.resolve("rt.safetensors.partial")));

        try (SafetensorsFile s = SafetensorsFile.open(f)) {
            assertEquals(Map.of("format", "pt"), s.metadata());
            assertEquals(List.of("bf16", "u8", "f32", "i32", "empty"), List.copyOf(s.tensors().keySet()));
            assertArrayEquals(bf16, s.tensor("bf16").data().toArray(ValueLayout.JAVA_BYTE));
            assertArrayEquals(u8, s.tensor("u8").data().toArray(ValueLayout.JAVA_BYTE));
            assertArrayEquals(f32, s.tensor("f32").toFloats());
            assertArrayEquals(i32, s.tensor("i32").toInts());
            assertArrayEquals(new float[] {0.5f, -1f, Float.POSITIVE_INFINITY}, s.tensor("bf16").toFloats());
            assertArrayEquals(new long[] {2, 3}, s.tensor("f32").shape());
            assertEquals(0, s.tensor("empty").data().byteSize());
        }
    }

    @Test
    void streamsASourceInChunks() throws IOException {
        int n = 3 * 1000 + 7;
        Path f = dir.resolve("stream.safetensors");
        new SafetensorsWriter().add("big", DType.U8, new long[] {n}, out -> {
            ByteBuffer chunk = ByteBuffer.allocate(1000);
            for (int written = 0; written < n; ) {
                chunk.clear();
                int len = Math.min(1000, n - written);
                for (int i = 0; i < len; i++) chunk.put((byte) (written + i));
                chunk.flip();
                SafetensorsWriter.writeFully(out, chunk);
                written += len;
            }
        }).write(f);
        try (SafetensorsFile s = SafetensorsFile.open(f)) {
            Tensor t = s.tensor("big");
            for (int i = 0; i < n; i++) assertEquals(i & 0xFF, t.getLong(i));
        }
    }

    @Test
    void sourceWritingTheWrongSizeFailsAndLeavesNoFile() {
        Path f = dir.resolve("short.safetensors");
        var w = new SafetensorsWriter().add("t", DType.F32, new long[] {4}, out -> out.write(ByteBuffer.allocate(12)));
        var e = assertThrows(IOException.class, () -> w.write(f));
        assertTrue(e.getMessage().contains("wrote 12 bytes") && e.getMessage().contains("needs 16"), e.getMessage());
        var over = new SafetensorsWriter().add("t", DType.U8, new long[] {4}, out -> out.write(ByteBuffer.allocate(5)));
        assertThrows(IOException.class, () -> over.write(f));
        assertFalse(Files.exists(f));
        assertFalse(Files.exists(dir.resolve("short.safetensors.partial")));
    }

    @Test
    void rejectsDuplicateReservedAndMissizedTensors() {
        var w = new SafetensorsWriter().add("a", DType.U8, new long[] {1}, new byte[1]);
        assertThrows(IllegalArgumentException.class, () -> w.add("a", DType.U8, new long[] {1}, new byte[1]));
        assertThrows(IllegalArgumentException.class, () -> w.add("__metadata__", DType.U8, new long[] {1}, new byte[1]));
        assertThrows(IllegalArgumentException.class, () -> w.add("b", DType.F32, new long[] {2}, new byte[7]));
        assertThrows(IllegalArgumentException.class, () -> w.addFloats("c", DType.U8, new long[] {1}, new float[1]));
        assertEquals(1, w.dataBytes());
    }

    @Test
    void bf16RoundsToNearestEven() {
        assertEquals((short) 0x3F80, Bf16.fromFloat(1.0f));
        assertEquals((short) 0x3F80, Bf16.fromFloat(Float.intBitsToFloat(0x3F80_8000))); // tie, even stays
        assertEquals((short) 0x3F82, Bf16.fromFloat(Float.intBitsToFloat(0x3F81_8000))); // tie, odd rounds up
        assertEquals((short) 0x3F81, Bf16.fromFloat(Float.intBitsToFloat(0x3F80_8001))); // above the tie
        assertEquals((short) 0x7F80, Bf16.fromFloat(Float.POSITIVE_INFINITY));
        assertEquals((short) 0x7F80, Bf16.fromFloat(Float.MAX_VALUE)); // rounds up to infinity
        assertTrue(Float.isNaN(Bf16.round(Float.NaN)));
        assertTrue(Float.isNaN(Bf16.toFloat(Bf16.fromFloat(Float.intBitsToFloat(0x7F80_0001))))); // NaN never becomes inf
        assertEquals(-2.5f, Bf16.round(-2.5f));
    }
}
