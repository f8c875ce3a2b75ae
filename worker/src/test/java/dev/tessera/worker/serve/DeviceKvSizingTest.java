package dev.tessera.worker.serve;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.worker.backend.cuda.Cuda;
import org.junit.jupiter.api.Test;

/** How a worker on a GPU sizes its KV pool: its share of the device, less its weights and a tenth, within what is free. */
class DeviceKvSizingTest {

    private static final long GB = 1_000_000_000L, TOTAL = 80 * GB, PER_BLOCK = 2_359_296;  // 120b: 36 layers x 16 tokens

    @Test
    void aWorkerAloneTakesNineTenthsLessItsWeightsAndATenthOfThat() {
        int blocks = Worker.deviceKvBlocks(new Cuda.MemoryInfo(79 * GB, TOTAL), 0.9, 61 * GB, PER_BLOCK);
        long own = (long) (0.9 * TOTAL);
        assertEquals((own - 61 * GB - 61 * GB / 50 - own / 10) / PER_BLOCK, blocks);
    }

    @Test
    void twoWorkersStartingTogetherOnOneGpuBothFit() {
        long weights = 7 * GB;
        Cuda.MemoryInfo bothSeeItFree = new Cuda.MemoryInfo(79 * GB, TOTAL);
        int a = Worker.deviceKvBlocks(bothSeeItFree, 0.45, weights, PER_BLOCK);
        int b = Worker.deviceKvBlocks(bothSeeItFree, 0.45, weights, PER_BLOCK);
        long used = 2 * (weights + weights / 50) + (long) (a + b) * PER_BLOCK;
        assertTrue(a > 0 && used <= TOTAL - 2 * (long) (0.045 * TOTAL), "both pools and weights fit, with headroom: " + used);
        // started one after the other, the second sees the first's memory in use and still gets the same share
        long firstTook = weights + (long) a * PER_BLOCK;
        assertEquals(a, Worker.deviceKvBlocks(new Cuda.MemoryInfo(79 * GB - firstTook, TOTAL), 0.45, weights, PER_BLOCK));
    }

    @Test
    void aDeviceWithTooLittleFreeGivesNoBlocks() {
        assertEquals(0, Worker.deviceKvBlocks(new Cuda.MemoryInfo(10 * GB, TOTAL), 0.9, 9 * GB, PER_BLOCK));
    }
}
