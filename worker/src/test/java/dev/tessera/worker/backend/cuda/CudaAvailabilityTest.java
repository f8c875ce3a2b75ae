package dev.tessera.worker.backend.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Where no CUDA backend can run, {@link Cuda} says why in one sentence and throws nothing it was not asked to. */
class CudaAvailabilityTest {

    static void assertOneSentence(String reason) {
        assertFalse(reason.isBlank());
        assertFalse(reason.contains("\n"), "one line: " + reason);
        assertFalse(reason.contains("Exception"), "no exception names: " + reason);
    }

    @Test
    void aMissingLibraryIsUnavailableWithTheReason(@TempDir Path dir) {
        Path nowhere = dir.resolve("libtessera_cuda.so");
        Cuda.Availability a = Cuda.availability(nowhere);
        assertFalse(a.available());
        assertEquals("the CUDA library " + nowhere + " does not exist", a.reason());
        CudaException e = assertThrows(CudaException.class, () -> Cuda.open(nowhere));
        assertEquals(a.reason(), e.getMessage());
        assertNull(e.status());
    }

    @Test
    void aFileThatIsNotALibraryIsUnavailable(@TempDir Path dir) throws Exception {
        Path text = Files.writeString(dir.resolve("libtessera_cuda.so"), "not a shared object");
        Cuda.Availability a = Cuda.availability(text);
        assertFalse(a.available());
        assertTrue(a.reason().startsWith("the CUDA library " + text + " could not be loaded"), a.reason());
        assertOneSentence(a.reason());
    }

    @Test
    void theDefaultLookupAnswersWithoutThrowing() {
        Cuda.Availability a = Cuda.availability();
        if (!a.available()) {
            assertOneSentence(a.reason());
            CudaException e = assertThrows(CudaException.class, Cuda::load);
            assertEquals(a.reason(), e.getMessage());
        }
    }

    @Test
    void theLibraryPropertyComesFirst(@TempDir Path dir) {
        String before = System.getProperty(Cuda.LIBRARY_PROPERTY);
        try {
            System.setProperty(Cuda.LIBRARY_PROPERTY, dir.resolve("nothing.so").toString());
            Cuda.Availability a = Cuda.availability();
            assertFalse(a.available());
            assertEquals("the CUDA library " + dir.resolve("nothing.so") + " named by -Dtessera.cuda.library does not exist",
                    a.reason());
            System.setProperty(Cuda.LIBRARY_PROPERTY, HostBuild.path().toString());
            assertTrue(Cuda.availability().available(), Cuda.availability().reason());
            assertTrue(Cuda.load().isHostBuild());
        } finally {
            if (before == null) System.clearProperty(Cuda.LIBRARY_PROPERTY);
            else System.setProperty(Cuda.LIBRARY_PROPERTY, before);
        }
    }

    @Test
    void theHostBuildIsAvailable() {
        Cuda.Availability a = Cuda.availability(HostBuild.path());
        assertTrue(a.available(), a.reason());
        assertEquals("the host build of the CUDA library (kernels emulated on the CPU)", a.reason());
        Cuda cuda = Cuda.open(HostBuild.path());
        assertTrue(cuda.isHostBuild());
        assertTrue(cuda.deviceCount() >= 1);
        assertTrue(cuda == Cuda.open(HostBuild.path()), "a library is bound once per path");
    }

    @Test
    void aFailedCallNamesTheFunctionTheStatusAndTheLibrarysReason() {
        try (Cuda.Context ctx = HostBuild.library().createContext(0)) {
            CudaException e = assertThrows(CudaException.class, () -> ctx.linear(0, 1, 32, 0, 4, 0, 0));
            assertEquals(Cuda.Status.INVALID_ARGUMENT, e.status());
            assertTrue(e.getMessage().startsWith("tc_f32_bf16w_linear failed (TC_INVALID_ARGUMENT)"), e.getMessage());
            assertOneSentence(e.getMessage());
        }
    }

    /**
     * The CUDA build beside the host build (where nvcc was there to build it): on a machine without a GPU it loads
     * and says that it found none.
     */
    @Test
    void theCudaBuildWithoutAGpuSaysSo() {
        Path cudaBuild = HostBuild.path().resolveSibling("libtessera_cuda.so");
        // NOTE: where nvcc is on the PATH the build must have made the library: CI compiles every kernel on every run.
        if (nvccOnPath()) assertTrue(Files.isRegularFile(cudaBuild), "nvcc is on the PATH but the build made no " + cudaBuild);
        Assumptions.assumeTrue(Files.isRegularFile(cudaBuild), "no CUDA build beside the host build (nvcc was missing)");
        Cuda.Availability a = Cuda.availability(cudaBuild);
        assertFalse(Cuda.open(cudaBuild).isHostBuild());
        if (!a.available()) {
            assertTrue(a.reason().startsWith("the CUDA library loaded but found no GPU"), a.reason());
            assertOneSentence(a.reason());
        }
    }

    private static boolean nvccOnPath() {
        String path = System.getenv("PATH");
        if (path == null) return false;
        for (String dir : path.split(java.io.File.pathSeparator))
            if (!dir.isEmpty() && Files.isExecutable(Path.of(dir, "nvcc"))) return true;
        return false;
    }
}
