package dev.tessera.worker.backend.cuda;

import static org.junit.jupiter.api.Assertions.fail;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The host build of the CUDA library ({@code libtessera_cuda_host.so}: the kernels run on the CPU), named by the system
 * property {@value #PROPERTY}. The build sets it; for a run by hand, build it with
 * {@code src/main/cuda/build.sh OUT host} and pass {@code -Dtessera.cuda.host.library=OUT/libtessera_cuda_host.so}.
 *
 * <p>NOTE: a missing host build fails the tests instead of skipping them: it is built from this repository's sources
 * with the C++ compiler alone, so its absence is a broken build, not a machine without a GPU.
 */
final class HostBuild {

    static final String PROPERTY = "tessera.cuda.host.library";

    private HostBuild() {}

    static Path path() {
        String p = System.getProperty(PROPERTY);
        if (p == null || p.isBlank())
            fail("the host build of the CUDA library is missing: -D" + PROPERTY + " is not set (build it with "
                    + "src/main/cuda/build.sh OUT host and point the property at OUT/libtessera_cuda_host.so)");
        Path path = Path.of(p);
        if (!Files.isRegularFile(path))
            fail("the host build of the CUDA library is missing: " + path + " (from -D" + PROPERTY + ") does not exist");
        return path;
    }

    static Cuda library() {
        Cuda cuda = Cuda.open(path());
        if (!cuda.isHostBuild()) fail(path() + " is not the host build of the CUDA library");
        return cuda;
    }
}
