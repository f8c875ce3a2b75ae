package dev.tessera.worker.checkpoint;

import java.nio.file.Files;
import java.nio.file.Path;

/** Finds the project's shared test fixtures: {@code -Dtessera.fixtures=DIR}, or {@code shared/fixtures} above the working directory. */
final class Fixtures {

    private Fixtures() {}

    static Path gptOssTiny() {
        String override = System.getProperty("tessera.fixtures");
        if (override != null) return Path.of(override, "gpt-oss-tiny");
        for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
            Path candidate = p.resolve("shared/fixtures/gpt-oss-tiny");
            if (Files.isDirectory(candidate)) return candidate;
        }
        throw new IllegalStateException("shared/fixtures/gpt-oss-tiny not found above " + Path.of("").toAbsolutePath()
                + "; set -Dtessera.fixtures=DIR");
    }
}
