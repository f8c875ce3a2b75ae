package dev.tessera.worker.backend.cuda;

import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;

/**
 * The device memory of one context, with a cache of released buffers: free lists by exact byte size. A step
 * allocates the same activation shapes as the step before, so after the first step {@link #take} finds each size in
 * its list and no step calls {@code cudaMalloc} or {@code cudaFree}.
 *
 * <p>NOTE: exact sizes, no rounding and no splitting: the shapes repeat step after step (they depend on the token count
 * only), so exact lists hit; rounding would waste memory on the large buffers (logits). A cache that grows too large
 * for the device is dropped ({@link #trim()}) and the allocation retried once.
 *
 * <p>NOTE: a released buffer may be handed out again while the stream still runs kernels that read it. That is safe
 * because every user of this memory queues its work on the context's one stream: the next owner's writes run after the
 * previous owner's queued reads.
 *
 * <p>Not thread-safe: driven by the backend's one thread.
 */
final class DeviceMemory implements AutoCloseable {

    private final Cuda.Context ctx;
    private final Map<Long, Long> live = new HashMap<>();                 // address -> bytes, handed out
    private final Map<Long, ArrayDeque<Long>> cached = new HashMap<>();   // bytes -> released addresses
    private long liveBytes, cachedBytes;
    private boolean closed;

    DeviceMemory(Cuda.Context ctx) { this.ctx = ctx; }

    /** {@code bytes} of device memory: a released buffer of exactly that size, or a new one. 0 bytes gives 0. */
    long take(long bytes) {
        if (closed) throw new IllegalStateException("the CUDA backend is closed");
        if (bytes < 0) throw new IllegalArgumentException("negative size " + bytes);
        if (bytes == 0) return 0;
        ArrayDeque<Long> list = cached.get(bytes);
        long address;
        if (list != null && !list.isEmpty()) {
            address = list.pop();
            cachedBytes -= bytes;
        } else {
            address = allocate(bytes);
        }
        live.put(address, bytes);
        liveBytes += bytes;
        return address;
    }

    private long allocate(long bytes) {
        try {
            return ctx.alloc(bytes);
        } catch (CudaException e) {
            if (e.status() != Cuda.Status.OUT_OF_MEMORY || cachedBytes == 0) throw e;
            trim();
            return ctx.alloc(bytes);
        }
    }

    /** Puts a buffer from {@link #take} back for reuse; 0 is ignored. */
    void release(long address) {
        if (address == 0) return;
        long bytes = remove(address);
        cached.computeIfAbsent(bytes, b -> new ArrayDeque<>()).push(address);
        cachedBytes += bytes;
    }

    /** Returns a buffer from {@link #take} to the device (after the queued work that uses it); 0 is ignored. */
    void free(long address) {
        if (address == 0) return;
        remove(address);
        ctx.free(address);
    }

    private long remove(long address) {
        if (closed) throw new IllegalStateException("the CUDA backend is closed");
        Long bytes = live.remove(address);
        if (bytes == null)
            throw new IllegalStateException("device buffer 0x" + Long.toHexString(address)
                    + " is not in use: released twice, or not from this backend");
        liveBytes -= bytes;
        return bytes;
    }

    /** Frees every cached buffer. */
    void trim() {
        for (ArrayDeque<Long> list : cached.values()) for (long address : list) ctx.free(address);
        cached.clear();
        cachedBytes = 0;
    }

    /** Bytes handed out and not released. */
    long liveBytes() { return liveBytes; }

    /** Bytes released and kept for reuse. */
    long cachedBytes() { return cachedBytes; }

    /** Frees everything, handed out or cached. Idempotent. */
    @Override
    public void close() {
        if (closed) return;
        trim();
        for (long address : live.keySet()) ctx.free(address);
        live.clear();
        liveBytes = 0;
        closed = true;
    }
}
