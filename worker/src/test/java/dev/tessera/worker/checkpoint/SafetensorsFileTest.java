package dev.tessera.worker.checkpoint;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Every malformed file gives a CheckpointException whose message names the file and, where there is one, the tensor. */
class SafetensorsFileTest {

    @TempDir Path dir;

    /** A file of raw parts: the given header length, the header text, then {@code dataBytes} zero bytes. */
    static Path raw(Path file, long headerLength, String header, int dataBytes) throws IOException {
        byte[] json = header.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + json.length + dataBytes).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(headerLength).put(json);
        Files.write(file, b.array());
        return file;
    }

    static Path raw(Path file, String header, int dataBytes) throws IOException {
        return raw(file, header.getBytes(StandardCharsets.UTF_8).length, header, dataBytes);
    }

    /** Opening {@code file} fails with a message that names it and contains every one of {@code parts}. */
    static CheckpointException fails(Path file, String... parts) {
        var e = assertThrows(CheckpointException.class, () -> SafetensorsFile.open(file).close());
        assertTrue(e.getMessage().contains(file.toString()), "file not named: " + e.getMessage());
        assertEquals(file, e.file());
        for (String p : parts) assertTrue(e.getMessage().contains(p), "'" + p + "' not in: " + e.getMessage());
        return e;
    }

    @Test
    void fileShorterThan8Bytes() throws IOException {
        Path f = Files.write(dir.resolve("short.safetensors"), new byte[5]);
        fails(f, "5 bytes", "shorter than the 8-byte header length");
    }

    @Test
    void headerRunsPastEndOfFile() throws IOException {
        fails(raw(dir.resolve("h.safetensors"), 1000, "{}", 0), "header length 1000", "past the end of the file (10 bytes)");
    }

    @Test
    void headerOverTheLimit() throws IOException {
        fails(raw(dir.resolve("big.safetensors"), 200_000_000L, "{}", 0), "200000000", "limit");
        fails(raw(dir.resolve("huge.safetensors"), -1L, "{}", 0), "18446744073709551615", "limit");
    }

    @Test
    void headerNotJson() throws IOException {
        fails(raw(dir.resolve("j.safetensors"), "{\"a\": {\"dtype\": ", 0), "not valid JSON");
        fails(raw(dir.resolve("t.safetensors"), "{} trailing", 0), "not valid JSON");
        fails(raw(dir.resolve("e.safetensors"), "        ", 0), "header is empty");
    }

    @Test
    void headerNotAnObject() throws IOException {
        fails(raw(dir.resolve("arr.safetensors"), "[1, 2]", 0), "not a JSON object but array");
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "dtype        | {\"shape\":[2],\"data_offsets\":[0,8]}",
        "shape        | {\"dtype\":\"F32\",\"data_offsets\":[0,8]}",
        "data_offsets | {\"dtype\":\"F32\",\"shape\":[2]}",
    })
    void entryMissingAField(String field, String entry) throws IOException {
        var e = fails(raw(dir.resolve("m.safetensors"), "{\"w\":" + entry + "}", 8), "w in ", "no '" + field + "'");
        assertEquals("w", e.tensor());
    }

    @Test
    void unknownDtype() throws IOException {
        fails(raw(dir.resolve("d.safetensors"), "{\"w\":{\"dtype\":\"F7\",\"shape\":[2],\"data_offsets\":[0,2]}}", 2),
                "w in ", "unknown dtype 'F7'");
    }

    @Test
    void offsetsBeyondTheDataSection() throws IOException {
        fails(raw(dir.resolve("o.safetensors"), "{\"w\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", 8),
                "w in ", "[0, 16]", "beyond the end of the data section (8 bytes)");
    }

    @Test
    void truncatedData() throws IOException {
        Path f = dir.resolve("cut.safetensors");
        new SafetensorsWriter().addFloats("a", DType.F32, new long[] {4}, new float[4])
                .addFloats("b", DType.F32, new long[] {4}, new float[4]).write(f);
        try (FileChannel ch = FileChannel.open(f, StandardOpenOption.WRITE)) {
            ch.truncate(ch.size() - 3);
        }
        var e = fails(f, "b in ", "truncated");
        assertEquals("b", e.tensor());
    }

    @Test
    void beginAfterEnd() throws IOException {
        fails(raw(dir.resolve("be.safetensors"), "{\"w\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[8,4]}}", 8),
                "w in ", "[8, 4]", "begin > end");
    }

    @Test
    void sizeNotNumelTimesDtypeSize() throws IOException {
        fails(raw(dir.resolve("s.safetensors"), "{\"w\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 12),
                "w in ", "(8 bytes)", "F32[3] needs 12 bytes");
    }

    @Test
    void overlappingTensors() throws IOException {
        String header = "{\"a\":{\"dtype\":\"U8\",\"shape\":[8],\"data_offsets\":[0,8]},"
                + "\"b\":{\"dtype\":\"U8\",\"shape\":[8],\"data_offsets\":[4,12]}}";
        fails(raw(dir.resolve("ov.safetensors"), header, 12), "b in ", "overlapping", "of a [0, 8]");
    }

    @Test
    void duplicateKeys() throws IOException {
        String entry = "{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0,4]}";
        fails(raw(dir.resolve("dup.safetensors"), "{\"w\":" + entry + ",\"w\":" + entry + "}", 4), "Duplicate", "'w'");
    }

    @Test
    void badEntriesAndMetadata() throws IOException {
        fails(raw(dir.resolve("n.safetensors"), "{\"w\":[1]}", 0), "w in ", "not a JSON object");
        fails(raw(dir.resolve("neg.safetensors"), "{\"w\":{\"dtype\":\"U8\",\"shape\":[-1],\"data_offsets\":[0,0]}}", 0),
                "w in ", "non-negative integer");
        fails(raw(dir.resolve("md.safetensors"), "{\"__metadata__\":{\"format\":3}}", 0), "__metadata__", "'format'");
    }

    @Test
    void validFileOpensWithMetadataAndPadding() throws IOException {
        String header = "{\"__metadata__\":{\"format\":\"pt\"},\"w\":{\"dtype\":\"BF16\",\"shape\":[2],\"data_offsets\":[0,4]}}   ";
        Path f = raw(dir.resolve("ok.safetensors"), header, 4);
        try (SafetensorsFile s = SafetensorsFile.open(f)) {
            assertEquals("pt", s.metadata().get("format"));
            assertEquals(1, s.tensors().size());
            assertEquals(0f, s.tensor("w").getFloat(1));
            var e = assertThrows(CheckpointException.class, () -> s.tensor("v"));
            assertTrue(e.getMessage().startsWith("v in " + f), e.getMessage());
        }
    }

    @Test
    void missingFile() {
        fails(dir.resolve("absent.safetensors"), "no such file");
    }
}
