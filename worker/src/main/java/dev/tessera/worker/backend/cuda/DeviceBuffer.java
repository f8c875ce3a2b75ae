package dev.tessera.worker.backend.cuda;

/**
 * A device buffer that only grows, reused by every op that needs scratch: the small index arrays uploaded per call,
 * the workspaces of attention and MoE.
 *
 * <p>NOTE: reuse from one op to the next is safe because uploads and kernels are queued in order on the context's one
 * stream: the next op's upload into this buffer runs after the previous op's kernel has read it. Growing frees the old
 * buffer with {@code tc_free}, which waits for the queued work that uses it.
 */
final class DeviceBuffer {

    private final DeviceMemory memory;
    private long address, capacity;

    DeviceBuffer(DeviceMemory memory) { this.memory = memory; }

    /** The buffer, grown to at least {@code bytes}; its contents are not kept across growth. */
    long atLeast(long bytes) {
        if (bytes > capacity) {
            long grown = Math.max(bytes, capacity + capacity / 2);
            grown = (grown + 4095) & ~4095L;
            long fresh = memory.take(grown);
            memory.free(address);
            address = fresh;
            capacity = grown;
        }
        return address;
    }

    long capacity() { return capacity; }
}
