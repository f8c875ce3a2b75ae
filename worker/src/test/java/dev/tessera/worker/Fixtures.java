package dev.tessera.worker;

import java.nio.file.Files;
import java.nio.file.Path;

/** Finds the shared test data: {@code shared/fixtures} beside the repository (or inside it). */
public final class Fixtures {

    private Fixtures() {}

    /** The gpt-oss-tiny checkpoint with transformers' golden outputs. */
    public static Path tiny() {
        String override = System.getProperty("tessera.fixtures");
        if (override != null) return Path.of(override, "gpt-oss-tiny");
        Path dir = Path.of("").toAbsolutePath();
        for (Path d = dir; d != null; d = d.getParent()) {
            for (Path candidate : new Path[] {d.resolve("shared/fixtures/gpt-oss-tiny"), d.resolve("../shared/fixtures/gpt-oss-tiny")}) {
                if (Files.isRegularFile(candidate.resolve("config.json"))) return candidate.normalize();
            }
        }
        throw new IllegalStateException("shared/fixtures/gpt-oss-tiny not found above " + dir
                + ": the tests need the shared fixtures beside the repository");
    }
}
