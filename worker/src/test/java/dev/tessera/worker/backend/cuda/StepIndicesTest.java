package dev.tessera.worker.backend.cuda;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.tessera.worker.backend.AttentionBatch;
import org.junit.jupiter.api.Test;

/** A step's index arrays go to the device once and are served again only while unchanged (on the host build). */
class StepIndicesTest {

    @Test
    void anUnchangedArrayIsUploadedOnceAndAChangedOneAgain() {
        try (Cuda.Context ctx = HostBuild.library().createContext(0); DeviceMemory memory = new DeviceMemory(ctx)) {
            StepIndices indices = new StepIndices(ctx, memory);
            int[] positions = {5, 6, 7};
            long first = indices.ints(positions);
            assertEquals(first, indices.ints(positions), "the same array, unchanged: the same device copy");
            assertNotEquals(first, indices.ints(positions.clone()), "an equal array of its own: its own copy");
            positions[1] = 60;  // refilled in place between steps
            long again = indices.ints(positions);
            assertNotEquals(first, again, "a changed array is uploaded again");
            int[] onDevice = new int[3];
            ctx.copyToHost(onDevice, again);
            assertArrayEquals(new int[] {5, 60, 7}, onDevice);
            for (int i = 0; i < 3 * StepIndices.CAPACITY; i++) indices.ints(new int[] {i});
            assertEquals(StepIndices.CAPACITY * DeviceMemory.sizeClass(4), indices.bytes(), "at most CAPACITY copies are kept");
        }
    }

    @Test
    void aBatchIsCheckedAndUploadedOncePerStep() {
        try (Cuda.Context ctx = HostBuild.library().createContext(0); DeviceMemory memory = new DeviceMemory(ctx)) {
            StepIndices indices = new StepIndices(ctx, memory);
            AttentionBatch batch = new AttentionBatch(new int[] {0, 17}, new int[] {0, 1}, new int[][] {{3}, {1, 4}}, 16);
            int[] checks = {0};
            StepIndices.Batch a = indices.batch(batch, b -> { checks[0]++; return 17; });
            StepIndices.Batch b = indices.batch(batch, x -> { checks[0]++; return 17; });
            assertEquals(a, b);
            assertEquals(1, checks[0], "checked once, when uploaded");
            int[] flat = new int[3], offsets = new int[3];
            ctx.copyToHost(flat, a.blockTables());
            ctx.copyToHost(offsets, a.tableOffsets());
            assertArrayEquals(new int[] {3, 1, 4}, flat);
            assertArrayEquals(new int[] {0, 1, 3}, offsets);
            batch.positions()[1] = 18;
            indices.batch(batch, x -> { checks[0]++; return 18; });
            assertEquals(2, checks[0], "a changed batch is checked and uploaded again");
            assertThrows(IllegalArgumentException.class, () -> indices.batch(
                    new AttentionBatch(new int[] {0}, new int[] {0}, new int[][] {{9}}, 16),
                    x -> { throw new IllegalArgumentException("KV block 9 is outside the cache"); }));
        }
    }
}
