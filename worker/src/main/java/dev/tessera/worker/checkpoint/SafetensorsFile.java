package dev.tessera.worker.checkpoint;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.channels.FileChannel;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * One safetensors file, memory-mapped whole as a single read-only {@link MemorySegment} (gpt-oss.md §3.6).
 * Each {@link Tensor}'s data is a slice of that mapping: opening copies nothing but the JSON header to the heap.
 *
 * <p>Every check of the format happens in {@link #open}: a file that opens is consistent (header inside the file,
 * every tensor's bytes inside the data section, sizes equal to numel × dtype size, no two tensors overlapping).
 *
 * <p>Lifetime: the tensors are valid until the arena that mapped the file is closed. {@link #open(Path)} makes a
 * shared arena that {@link #close()} closes; with {@link #open(Path, Arena)} the caller owns the arena and
 * {@code close()} does nothing. Using a tensor after its arena is closed throws {@link IllegalStateException}.
 */
public final class SafetensorsFile implements AutoCloseable {

    /** The reference implementation's limit on the header length. */
    public static final long MAX_HEADER_BYTES = 100_000_000L;

    private final Path file;
    private final MemorySegment segment;
    private final Map<String, Tensor> tensors;
    private final Map<String, String> metadata;
    private final Arena ownedArena;

    private SafetensorsFile(Path file, MemorySegment segment, Map<String, Tensor> tensors,
                            Map<String, String> metadata, Arena ownedArena) {
        this.file = file;
        this.segment = segment;
        this.tensors = tensors;
        this.metadata = metadata;
        this.ownedArena = ownedArena;
    }

    /** Maps {@code file} in a new shared arena, closed by {@link #close()}. */
    public static SafetensorsFile open(Path file) {
        Arena arena = Arena.ofShared();
        try {
            return map(file, arena, arena);
        } catch (RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    /** Maps {@code file} in {@code arena}, which the caller closes; {@link #close()} leaves it open. */
    public static SafetensorsFile open(Path file, Arena arena) {
        return map(file, arena, null);
    }

    private static SafetensorsFile map(Path file, Arena arena, Arena owned) {
        MemorySegment segment;
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = channel.size();
            if (size < 8)
                throw new CheckpointException(file, "file is " + size + " bytes, shorter than the 8-byte header length");
            segment = channel.map(FileChannel.MapMode.READ_ONLY, 0, size, arena);
        } catch (NoSuchFileException e) {
            throw new CheckpointException(file, "no such file", e);
        } catch (IOException e) {
            throw new CheckpointException(file, "cannot map: " + e, e);
        }
        long size = segment.byteSize();
        long headerBytes = segment.get(Tensor.LONG_LE, 0);
        // NOTE: the length is an unsigned 64-bit integer; a negative long is a length beyond 2^63, so over the limit.
        if (headerBytes < 0 || headerBytes > MAX_HEADER_BYTES)
            throw new CheckpointException(file, "header length " + Long.toUnsignedString(headerBytes)
                    + " exceeds the limit of " + MAX_HEADER_BYTES + " bytes (not a safetensors file?)");
        if (8 + headerBytes > size)
            throw new CheckpointException(file, "header length " + headerBytes + " runs past the end of the file ("
                    + size + " bytes): the file is truncated or not a safetensors file");

        byte[] json = segment.asSlice(8, headerBytes).toArray(ValueLayout.JAVA_BYTE);
        long dataStart = 8 + headerBytes;
        SafetensorsHeader header = SafetensorsHeader.parse(file, json, size - dataStart);

        Map<String, Tensor> tensors = new LinkedHashMap<>();
        for (SafetensorsHeader.Entry e : header.entries()) {
            MemorySegment data = segment.asSlice(dataStart + e.begin(), e.byteSize());
            tensors.put(e.name(), new Tensor(e.name(), e.dtype(), e.shape(), data, file));
        }
        return new SafetensorsFile(file, segment, Collections.unmodifiableMap(tensors), header.metadata(), owned);
    }

    public Path file() { return file; }

    /** All tensors, in header order. */
    public Map<String, Tensor> tensors() { return tensors; }

    /** The optional {@code __metadata__} strings; empty when the file has none. */
    public Map<String, String> metadata() { return metadata; }

    public boolean contains(String name) { return tensors.containsKey(name); }

    /** The named tensor; a CheckpointException naming the file and the tensor when it is absent. */
    public Tensor tensor(String name) {
        Tensor t = tensors.get(name);
        if (t == null) throw new CheckpointException(file, name, "is not in the file");
        return t;
    }

    /** The size of the mapped file in bytes. */
    public long byteSize() { return segment.byteSize(); }

    /** Closes the arena if this file made it; the tensors are unusable afterwards. */
    @Override
    public void close() {
        if (ownedArena != null && ownedArena.scope().isAlive()) ownedArena.close();
    }

    @Override
    public String toString() {
        return file + " (" + tensors.size() + " tensors)";
    }
}
