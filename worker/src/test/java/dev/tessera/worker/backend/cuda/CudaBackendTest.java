package dev.tessera.worker.backend.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/**
 * The op checks of {@link CudaOpChecks} on the host build of the CUDA library: the kernels' indexing, reductions and
 * barriers, run on the CPU, against {@link dev.tessera.worker.backend.ScalarBackend}. Needs the host build (see
 * {@link HostBuild}); fails without it.
 */
class CudaBackendTest extends CudaOpChecks {

    @Override
    Cuda library() { return HostBuild.library(); }

    @Test
    void theHostBuildSaysWhatItIs() {
        assertEquals("cuda-host (kernels emulated on the CPU, for tests)", cuda.name());
        assertTrue(library().missingSymbols().isEmpty(), "missing: " + library().missingSymbols());
        Cuda.MemoryInfo m = cuda.memoryInfo();
        assertTrue(m.totalBytes() > 0 && m.freeBytes() > 0 && m.freeBytes() <= m.totalBytes(), m.toString());
    }
}
