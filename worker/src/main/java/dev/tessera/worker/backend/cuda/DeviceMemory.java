package dev.tessera.worker.backend.cuda;

import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The device memory of one context, with a cache of released buffers: free lists by exact byte size. A step
 * allocates the same activation shapes as the step before, so after the first step {@link #take} finds each size in
 * its list and no step calls {@code cudaMalloc} or {@code cudaFree}.
 *
 * <p>NOTE: weights and caches are taken at their exact size ({@link #take}); step buffers ({@link #takeReusable}) are
 * rounded up to a size class (256-byte steps up to 64 KiB, then 1, 1.25, 1.5 and 1.75 times a power of two), so that a
 * server whose batch sizes vary step by step reuses a bounded set of sizes instead of caching one buffer per token
 * count (the logits alone are 804 KB a token for gpt-oss), at a cost of at most a quarter of a buffer. The cache holds
 * at most {@link #maxCachedBytes}; a release beyond it frees the buffer at once. A cache that grows too large for the
 * device is dropped ({@link #trim()}) and the allocation retried once.
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
    private final Map<Long, ArrayDeque<Long>> cached = new LinkedHashMap<>();   // bytes -> released addresses, oldest size first
    private final long maxCachedBytes;
    private long liveBytes, cachedBytes;
    private boolean closed;

    /** The default bound of the release cache. */
    static final long DEFAULT_MAX_CACHED_BYTES = 2L << 30;

    DeviceMemory(Cuda.Context ctx) { this(ctx, DEFAULT_MAX_CACHED_BYTES); }

    DeviceMemory(Cuda.Context ctx, long maxCachedBytes) {
        this.ctx = ctx;
        this.maxCachedBytes = maxCachedBytes;
    }

    /** A step buffer of at least {@code bytes}: {@link #take} of its size class. */
    long takeReusable(long bytes) { return take(sizeClass(bytes)); }

    /** The size a step buffer of {@code bytes} is rounded up to (see the class's note). */
    static long sizeClass(long bytes) {
        if (bytes <= 0) return bytes;
        if (bytes <= 64 << 10) return (bytes + 255) / 256 * 256;
        long power = Long.highestOneBit(bytes), quarter = power / 4;
        return (bytes + quarter - 1) / quarter * quarter;
    }

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
        if (bytes > maxCachedBytes) {
            ctx.free(address);
            return;
        }
        // NOTE: over the bound, the buffers cached longest give way (sizes a burst of large steps left behind), not
        // the one just released, which the next step is the likeliest to ask for. cudaFree waits for the device;
        // only a cache over its bound pays that.
        for (var lists = cached.entrySet().iterator(); cachedBytes + bytes > maxCachedBytes && lists.hasNext(); ) {
            var entry = lists.next();
            ArrayDeque<Long> list = entry.getValue();
            while (!list.isEmpty() && cachedBytes + bytes > maxCachedBytes) {
                long old = list.removeLast();
                cachedBytes -= entry.getKey();
                ctx.free(old);
            }
            if (list.isEmpty()) lists.remove();
        }
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
        // NOTE: each buffer leaves the cache before it is freed, so a failure part-way (a lost device) never leaves an
        // address in the cache that was already freed, to be freed twice on a retry.
        for (var lists = cached.entrySet().iterator(); lists.hasNext(); ) {
            var entry = lists.next();
            ArrayDeque<Long> list = entry.getValue();
            while (!list.isEmpty()) {
                long address = list.pop();
                cachedBytes -= entry.getKey();
                ctx.free(address);
            }
            lists.remove();
        }
    }

    /** Bytes handed out and not released. */
    long liveBytes() { return liveBytes; }

    /** Bytes released and kept for reuse. */
    long cachedBytes() { return cachedBytes; }

    /** Frees everything, handed out or cached. Idempotent. */
    @Override
    public void close() {
        if (closed) return;
        closed = true;
        try {
            trim();
        } finally {
            for (var it = live.entrySet().iterator(); it.hasNext(); ) {
                var entry = it.next();
                it.remove();
                liveBytes -= entry.getValue();
                ctx.free(entry.getKey());
            }
        }
    }
}
