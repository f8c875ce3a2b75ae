package dev.tessera.worker.backend.cuda;

import dev.tessera.worker.backend.AttentionBatch;
import java.lang.foreign.MemorySegment;
import java.util.ArrayDeque;
import java.util.Arrays;

/**
 * Index arrays kept on the device while they are unchanged. Every layer of a step passes the same host arrays (the
 * step's positions, KV slots, block tables and the rotary frequencies), so uploading them once a step instead of once
 * an op saves a few copies a layer, 150 or so a step at gpt-oss-120b's 36 layers.
 *
 * <p>An entry is found by the identity of the host object and used only if its contents still equal the snapshot
 * taken when it was uploaded (a caller may refill an array between steps), so a hit never serves stale indices. The
 * comparison costs a pass over the host array, far less than a copy to the device. At most {@link #CAPACITY} entries
 * are kept; the oldest goes first.
 *
 * <p>NOTE: an evicted entry's buffer returns to {@link DeviceMemory}'s cache and may be refilled while queued kernels
 * still read it; as everywhere in this backend that is safe because all work runs in order on the context's stream.
 */
final class StepIndices {

    static final int CAPACITY = 8;

    /** The device copy of one host array. */
    private record Array(Object host, Object snapshot, long address, long bytes) {}

    /** The device copies of an attention batch's index arrays, with what the host checks found. */
    record Batch(long positions, long sequenceOf, long tableOffsets, long blockTables, int maxPosition) {}

    private record BatchEntry(AttentionBatch host, int[] positions, int[] sequenceOf, int[][] tables, Batch device,
                              long[] addresses, long bytes) {}

    private final Cuda.Context ctx;
    private final DeviceMemory memory;
    private final ArrayDeque<Array> arrays = new ArrayDeque<>();
    private final ArrayDeque<BatchEntry> batches = new ArrayDeque<>();
    private long bytes;

    StepIndices(Cuda.Context ctx, DeviceMemory memory) {
        this.ctx = ctx;
        this.memory = memory;
    }

    /** The device address of {@code host}'s contents, uploaded now unless an unchanged copy is there. */
    long ints(int[] host) {
        for (Array a : arrays)
            if (a.host() == host && Arrays.equals((int[]) a.snapshot(), host)) return hit(a);
        return add(host, host.clone(), MemorySegment.ofArray(host), 4L * host.length);
    }

    /** As {@link #ints}, for floats. */
    long floats(float[] host) {
        for (Array a : arrays)
            if (a.host() == host && Arrays.equals((float[]) a.snapshot(), host)) return hit(a);
        return add(host, host.clone(), MemorySegment.ofArray(host), 4L * host.length);
    }

    /** A found copy moves to the front, so that arrays used every step (the rotary frequencies) stay. */
    private long hit(Array a) {
        if (arrays.peekFirst() != a) {
            arrays.remove(a);
            arrays.addFirst(a);
        }
        return a.address();
    }

    private long add(Object host, Object snapshot, MemorySegment data, long size) {
        long address = upload(data, size);
        arrays.addFirst(new Array(host, snapshot, address, held(size)));
        if (arrays.size() > CAPACITY) {
            Array old = arrays.removeLast();
            memory.release(old.address());
            bytes -= old.bytes();
        }
        return address;
    }

    private long upload(MemorySegment data, long size) {
        long address = memory.takeReusable(Math.max(size, 4));
        try {
            ctx.copyToDevice(address, data, size);
        } catch (RuntimeException e) {
            memory.release(address);
            throw e;
        }
        bytes += held(size);
        return address;
    }

    private static long held(long size) { return DeviceMemory.sizeClass(Math.max(size, 4)); }

    /** Device bytes the kept copies hold. */
    long bytes() { return bytes; }

    /**
     * The device copies of {@code batch}'s positions, sequence indices and block tables (flattened, with each
     * sequence's offset), uploaded now unless an unchanged copy is there. On an upload, {@code check} runs first on
     * the host (the kernels do not check indices) and gives the largest position.
     */
    Batch batch(AttentionBatch batch, java.util.function.ToIntFunction<AttentionBatch> check) {
        for (BatchEntry e : batches)
            if (e.host() == batch && Arrays.equals(e.positions(), batch.positions())
                    && Arrays.equals(e.sequenceOf(), batch.sequenceOf()) && sameTables(e.tables(), batch.blockTables()))
                return e.device();
        int maxPosition = check.applyAsInt(batch);
        int[][] tables = batch.blockTables();
        int[] offsets = new int[tables.length + 1];
        for (int s = 0; s < tables.length; s++) offsets[s + 1] = offsets[s] + tables[s].length;
        int[] flat = new int[offsets[tables.length]];
        for (int s = 0; s < tables.length; s++) System.arraycopy(tables[s], 0, flat, offsets[s], tables[s].length);
        MemorySegment[] parts = {MemorySegment.ofArray(batch.positions()), MemorySegment.ofArray(batch.sequenceOf()),
                MemorySegment.ofArray(offsets), MemorySegment.ofArray(flat)};
        long[] addresses = new long[parts.length];
        int done = 0;
        try {
            for (; done < parts.length; done++) addresses[done] = upload(parts[done], parts[done].byteSize());
        } catch (RuntimeException e) {
            for (int i = 0; i < done; i++) {  // NOTE: nothing taken for a batch that failed to upload stays held
                memory.release(addresses[i]);
                bytes -= held(parts[i].byteSize());
            }
            throw e;
        }
        Batch device = new Batch(addresses[0], addresses[1], addresses[2], addresses[3], maxPosition);
        long held = held(4L * batch.positions().length) + held(4L * batch.sequenceOf().length) + held(4L * offsets.length)
                + held(4L * flat.length);
        batches.addFirst(new BatchEntry(batch, batch.positions().clone(), batch.sequenceOf().clone(), tables.clone(), device,
                addresses, held));
        if (batches.size() > CAPACITY / 2) {
            BatchEntry old = batches.removeLast();
            for (long a : old.addresses()) memory.release(a);
            bytes -= old.bytes();
        }
        return device;
    }

    /**
     * NOTE: block tables are compared by identity, not contents: a step's tables are built for that step (StepLayout)
     * and a batch is only found again within the step it was made for, so comparing every block of every table at
     * every layer (a million ints a step at batch 256) would cost what the cache saves.
     */
    private static boolean sameTables(int[][] seen, int[][] now) {
        if (seen.length != now.length) return false;
        for (int s = 0; s < seen.length; s++) if (seen[s] != now[s]) return false;
        return true;
    }
}
