package dev.tessera.worker.backend.cuda;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * The small host arrays of one op (token ids, positions, slots, block tables, rope frequencies), packed into one host
 * buffer and copied to the device's scratch with one call. Each array starts on a 256-byte boundary.
 *
 * <p>The addresses returned are valid until the next {@link #put}: see {@link DeviceBuffer} for why reuse is safe.
 */
final class SmallUploads {

    private static final long ALIGN = 256;

    private final Cuda.Context ctx;
    private final DeviceBuffer device;
    private MemorySegment host = MemorySegment.NULL;

    SmallUploads(Cuda.Context ctx, DeviceMemory memory) {
        this.ctx = ctx;
        this.device = new DeviceBuffer(memory);
    }

    /** Uploads {@code arrays} (heap segments of int or float arrays) and returns the device address of each. */
    long[] put(MemorySegment... arrays) {
        long[] offsets = new long[arrays.length];
        long total = 0;
        for (int i = 0; i < arrays.length; i++) {
            offsets[i] = total;
            total += (arrays[i].byteSize() + ALIGN - 1) / ALIGN * ALIGN;
        }
        if (host.byteSize() < total) host = Arena.ofAuto().allocate(Math.max(total, 4096), ALIGN);
        for (int i = 0; i < arrays.length; i++) MemorySegment.copy(arrays[i], 0, host, offsets[i], arrays[i].byteSize());
        long base = device.atLeast(Math.max(total, ALIGN));
        ctx.copyToDevice(base, host, total);
        long[] addresses = new long[arrays.length];
        for (int i = 0; i < arrays.length; i++) addresses[i] = base + offsets[i];
        return addresses;
    }

    /** Device bytes of the scratch. */
    long capacity() { return device.capacity(); }
}
