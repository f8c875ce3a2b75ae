package dev.tessera.worker.backend.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The size classes of step buffers: never smaller than asked, at most a quarter larger, few of them. */
class DeviceMemorySizeClassTest {

    @Test
    void classesCoverEverySizeWithBoundedWaste() {
        for (long bytes = 1; bytes < (1L << 34); bytes = bytes * 3 / 2 + 7) {
            long c = DeviceMemory.sizeClass(bytes);
            assertTrue(c >= bytes, bytes + " -> " + c);
            assertTrue(c <= bytes + Math.max(255, bytes / 4), bytes + " -> " + c + " wastes more than a quarter");
            assertEquals(c, DeviceMemory.sizeClass(c), "a class is its own class");
        }
        assertEquals(0, DeviceMemory.sizeClass(0));
    }

    @Test
    void varyingBatchSizesShareAFewSizes() {
        // gpt-oss logits for 1..256 sampled tokens: 804,352 bytes a token.
        Set<Long> classes = new HashSet<>();
        for (int tokens = 1; tokens <= 256; tokens++) classes.add(DeviceMemory.sizeClass(804_352L * tokens));
        assertTrue(classes.size() <= 40, classes.size() + " sizes for 256 batch sizes");
    }
}
