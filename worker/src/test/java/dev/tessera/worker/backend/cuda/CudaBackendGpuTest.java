package dev.tessera.worker.backend.cuda;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The op checks of {@link CudaOpChecks} on a GPU, through the library the default lookup finds ({@link Cuda#load()}).
 * Tagged {@code gpu} (the build excludes the tag; run with {@code -Dgroups=gpu}) and skipped, with the reason, where
 * no GPU is available.
 */
@Tag("gpu")
class CudaBackendGpuTest extends CudaOpChecks {

    /**
     * The default library, or the test is skipped with the reason there is none. NOTE: assumed before each test, not
     * once for the class: the build's test report shows skipped tests with their reason, but not a skipped class.
     */
    @Override
    Cuda library() {
        Cuda.Availability a = Cuda.availability();
        Assumptions.assumeTrue(a.available(), a.reason());
        return Cuda.load();
    }

    @Test
    void theTinyModelMatchesTransformersOnOneStage() throws Exception {
        verify(1, 16);
    }

    @Test
    void runsOnAGpuNotTheHostBuild() {
        assertFalse(library().isHostBuild());
        assertTrue(cuda.name().startsWith("cuda ("), cuda.name());
        try (Cuda.Context ctx = library().createContext(0)) {
            int cc = ctx.computeCapability();
            assertTrue(cc >= 90, "the CUDA build targets sm_90a; compute capability " + cc);
        }
    }
}
