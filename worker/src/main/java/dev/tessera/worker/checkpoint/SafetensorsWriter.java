package dev.tessera.worker.checkpoint;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Writes one safetensors file (gpt-oss.md §3.6): the 8-byte little-endian header length, the JSON header padded with
 * spaces to a multiple of 8, then every tensor's bytes in the order they were added, with no gaps.
 *
 * <p>Tensors are streamed: a {@link TensorSource} writes its bytes when {@link #write} reaches it, so a file larger
 * than the heap can be written. The file appears under its name only when complete (written beside it, then moved).
 */
public final class SafetensorsWriter {

    /**
     * Writes one tensor's bytes (little-endian, row-major) to {@code out}, in as many chunks as it likes: exactly
     * numel × dtype size of them, or the write fails. It must not close {@code out}; closing it does nothing.
     */
    @FunctionalInterface
    public interface TensorSource {
        void writeTo(WritableByteChannel out) throws IOException;
    }

    private record Entry(String name, DType dtype, long[] shape, long bytes, TensorSource source) {}

    private final Map<String, String> metadata = new LinkedHashMap<>();
    private final List<Entry> entries = new ArrayList<>();
    private final java.util.Set<String> names = new java.util.HashSet<>();
    private long dataBytes;

    /** Adds a {@code __metadata__} string (e.g. "format" → "pt"); the header has no metadata unless one is added. */
    public SafetensorsWriter metadata(String key, String value) {
        metadata.put(key, value);
        return this;
    }

    /** Adds a tensor whose {@code numel × dtype size} bytes {@code source} will write; names must be unique. */
    public SafetensorsWriter add(String name, DType dtype, long[] shape, TensorSource source) {
        if (name.equals(SafetensorsHeader.METADATA_KEY)) throw new IllegalArgumentException(name + " is reserved");
        long bytes = byteSize(name, dtype, shape);
        if (!names.add(name)) throw new IllegalArgumentException("tensor " + name + " added twice");
        entries.add(new Entry(name, dtype, shape.clone(), bytes, source));
        dataBytes += bytes;
        return this;
    }

    /** Adds a tensor from raw little-endian bytes, exactly {@code numel × dtype size} of them. */
    public SafetensorsWriter add(String name, DType dtype, long[] shape, byte[] data) {
        long bytes = byteSize(name, dtype, shape);
        if (bytes != data.length)
            throw new IllegalArgumentException(name + ": " + data.length + " bytes given, " + dtype
                    + Arrays.toString(shape) + " needs " + bytes);
        byte[] copy = data.clone();
        return add(name, dtype, shape, out -> writeFully(out, ByteBuffer.wrap(copy)));
    }

    private static long byteSize(String name, DType dtype, long[] shape) {
        long numel = 1;
        for (long d : shape) {
            if (d < 0) throw new IllegalArgumentException(name + " has a negative dimension: " + Arrays.toString(shape));
            numel = Math.multiplyExact(numel, d);
        }
        return Math.multiplyExact(numel, (long) dtype.bytes());
    }

    /** Adds floats as F32, BF16 (round to nearest even) or F16. */
    public SafetensorsWriter addFloats(String name, DType dtype, long[] shape, float[] values) {
        ByteBuffer buf = ByteBuffer.allocate(values.length * dtype.bytes()).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : values) {
            switch (dtype) {
                case F32 -> buf.putFloat(v);
                case BF16 -> buf.putShort(Bf16.fromFloat(v));
                case F16 -> buf.putShort(Float.floatToFloat16(v));
                default -> throw new IllegalArgumentException(name + ": addFloats takes F32, BF16 or F16, not " + dtype);
            }
        }
        return add(name, dtype, shape, buf.array());
    }

    /** Adds ints as I32, I64, I16, I8 or U8 (each value must fit the dtype's width; it is truncated otherwise). */
    public SafetensorsWriter addInts(String name, DType dtype, long[] shape, int[] values) {
        ByteBuffer buf = ByteBuffer.allocate(values.length * dtype.bytes()).order(ByteOrder.LITTLE_ENDIAN);
        for (int v : values) {
            switch (dtype) {
                case I32, U32 -> buf.putInt(v);
                case I64, U64 -> buf.putLong(v);
                case I16, U16 -> buf.putShort((short) v);
                case I8, U8, BOOL -> buf.put((byte) v);
                default -> throw new IllegalArgumentException(name + ": addInts takes an integer dtype, not " + dtype);
            }
        }
        return add(name, dtype, shape, buf.array());
    }

    /** The bytes of all tensors added so far (the file adds 8 bytes plus the header). */
    public long dataBytes() { return dataBytes; }

    /** The header as written: JSON padded with spaces so that its length is a multiple of 8. */
    byte[] header() {
        ObjectNode root = SafetensorsHeader.STRICT_JSON.createObjectNode();
        if (!metadata.isEmpty()) {
            ObjectNode m = root.putObject(SafetensorsHeader.METADATA_KEY);
            metadata.forEach(m::put);
        }
        long offset = 0;
        for (Entry e : entries) {
            ObjectNode t = root.putObject(e.name());
            t.put("dtype", e.dtype().name());
            var shape = t.putArray("shape");
            for (long d : e.shape()) shape.add(d);
            t.putArray("data_offsets").add(offset).add(offset + e.bytes());
            offset += e.bytes();
        }
        byte[] json = root.toString().getBytes(StandardCharsets.UTF_8);
        int padded = (json.length + 7) & ~7;
        byte[] out = Arrays.copyOf(json, padded);
        Arrays.fill(out, json.length, padded, (byte) ' ');
        return out;
    }

    /**
     * Writes the file, replacing any file of that name. A source that writes more or fewer bytes than its tensor
     * needs fails the write, and no partial file is left under {@code file}'s name.
     */
    public void write(Path file) throws IOException {
        byte[] header = header();
        Path partial = file.resolveSibling(file.getFileName() + ".partial");
        boolean done = false;
        try (FileChannel ch = FileChannel.open(partial, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            ByteBuffer start = ByteBuffer.allocate(8 + header.length).order(ByteOrder.LITTLE_ENDIAN);
            start.putLong(header.length).put(header).flip();
            writeFully(ch, start);
            for (Entry e : entries) {
                CountingChannel counted = new CountingChannel(ch, e.bytes(), e.name());
                e.source().writeTo(counted);
                if (counted.written != e.bytes())
                    throw new IOException("source of " + e.name() + " wrote " + counted.written + " bytes, "
                            + e.dtype() + Arrays.toString(e.shape()) + " needs " + e.bytes());
            }
            done = true;
        } finally {
            if (!done) Files.deleteIfExists(partial);
        }
        try {
            Files.move(partial, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(partial, file, StandardCopyOption.REPLACE_EXISTING);
        }
    }

    /** Writes all of {@code buf}, looping as channels may write less than asked. */
    public static void writeFully(WritableByteChannel out, ByteBuffer buf) throws IOException {
        while (buf.hasRemaining()) out.write(buf);
    }

    /** Passes bytes through to the file and refuses any beyond the tensor's size. */
    private static final class CountingChannel implements WritableByteChannel {
        private final WritableByteChannel out;
        private final long limit;
        private final String name;
        long written;

        CountingChannel(WritableByteChannel out, long limit, String name) {
            this.out = out;
            this.limit = limit;
            this.name = name;
        }

        @Override
        public int write(ByteBuffer src) throws IOException {
            if (written + src.remaining() > limit)
                throw new IOException("source of " + name + " wrote more than its " + limit + " bytes");
            int n = out.write(src);
            written += n;
            return n;
        }

        @Override public boolean isOpen() { return out.isOpen(); }

        /** The tensor's channel is not the source's to close. */
        @Override public void close() {}
    }
}
