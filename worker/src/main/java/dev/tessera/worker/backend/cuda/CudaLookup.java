package dev.tessera.worker.backend.cuda;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/**
 * Where the default CUDA library is: the path of the system property {@value Cuda#LIBRARY_PROPERTY}, else the path of
 * the environment variable {@value Cuda#LIBRARY_ENV}, else the resource {@value Cuda#LIBRARY_RESOURCE} packaged with
 * Tessera, extracted once per process to a temporary file (deleted when the JVM exits).
 */
final class CudaLookup {

    /** A library's path, or (path null) one sentence saying why there is none. */
    record Found(Path path, String problem) {}

    private static Found packaged;

    private CudaLookup() {}

    static Found find() {
        String property = System.getProperty(Cuda.LIBRARY_PROPERTY);
        if (property != null && !property.isBlank()) return given(Path.of(property), "-D" + Cuda.LIBRARY_PROPERTY);
        String env = System.getenv(Cuda.LIBRARY_ENV);
        if (env != null && !env.isBlank()) return given(Path.of(env), Cuda.LIBRARY_ENV);
        return packaged();
    }

    private static Found given(Path path, String source) {
        return Files.isRegularFile(path) ? new Found(path, null)
                : new Found(null, "the CUDA library " + path + " named by " + source + " does not exist");
    }

    /**
     * The packaged library. NOTE: the build packages it only where nvcc was present, so its absence means a build
     * without CUDA, and says so.
     */
    private static synchronized Found packaged() {
        if (packaged != null) return packaged;
        try (InputStream in = Cuda.class.getResourceAsStream(Cuda.LIBRARY_RESOURCE)) {
            if (in == null)
                return packaged = new Found(null, "no CUDA library in this build: nvcc was not found when Tessera was built");
            Path file = Files.createTempFile("tessera_cuda", ".so");
            file.toFile().deleteOnExit();
            Files.copy(in, file, StandardCopyOption.REPLACE_EXISTING);
            return packaged = new Found(file, null);
        } catch (IOException e) {
            return packaged = new Found(null, "the CUDA library packaged with Tessera could not be extracted: " + e.getMessage());
        }
    }
}
