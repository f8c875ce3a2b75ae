package dev.tessera.deploy.cli;

import dev.tessera.worker.checkpoint.SyntheticCheckpoint;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Comparator;
import java.util.Locale;
import java.util.stream.Stream;

/** Where synthetic checkpoints live, and writing one once so later runs reuse it. */
final class Models {

    private Models() {}

    /** {@code $TESSERA_HOME/models} (the launcher sets it to the repository), else {@code ./models}. */
    static Path directory() {
        String home = System.getenv("TESSERA_HOME");
        return (home != null && !home.isBlank() ? Path.of(home) : Path.of("")).resolve("models").toAbsolutePath();
    }

    /**
     * Returns {@code dir}, writing a synthetic checkpoint of {@code shape} there first if it is not complete.
     * NOTE: the files are written to a sibling directory and renamed into place, so an interrupted write never
     * leaves a half checkpoint that a later run would take for a whole one.
     */
    static Path ensureSynthetic(Path dir, SyntheticCheckpoint.Shape shape, PrintStream progress) throws IOException {
        if (Files.isRegularFile(dir.resolve("config.json"))) return dir;
        Files.createDirectories(dir.getParent());
        Path tmp = dir.resolveSibling(dir.getFileName() + ".partial");
        deleteRecursively(tmp);
        write(tmp, shape, SyntheticCheckpoint.DEFAULT_MAX_SHARD_BYTES, progress);
        Files.move(tmp, dir, StandardCopyOption.ATOMIC_MOVE);
        return dir;
    }

    static void write(Path dir, SyntheticCheckpoint.Shape shape, long maxShardBytes, PrintStream progress) throws IOException {
        progress.printf(Locale.ROOT, "writing a synthetic checkpoint (%s) to %s%n", shape, dir);
        long[] lastPercent = {-1};
        long start = System.nanoTime();
        SyntheticCheckpoint.write(dir, shape, maxShardBytes, (written, total) -> {
            long percent = total == 0 ? 100 : written * 100 / total;
            if (percent != lastPercent[0]) {
                lastPercent[0] = percent;
                progress.printf(Locale.ROOT, "\r  %,d / %,d MB (%d%%)", written >> 20, total >> 20, percent);
            }
        });
        progress.printf(Locale.ROOT, "%n  done in %.1f s%n", (System.nanoTime() - start) / 1e9);
    }

    static void deleteRecursively(Path dir) throws IOException {
        if (!Files.exists(dir)) return;
        try (Stream<Path> paths = Files.walk(dir)) {
            for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) Files.delete(p);
        }
    }
}
