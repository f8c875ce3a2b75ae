package dev.tessera.worker.serve;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.worker.Fixtures;
import dev.tessera.worker.checkpoint.Checkpoint;
import dev.tessera.worker.checkpoint.SyntheticCheckpoint;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ModelFingerprintTest {

    private static String fingerprint(Path dir) throws Exception {
        try (Checkpoint ckpt = Checkpoint.open(dir)) {
            return ModelFingerprint.of(dir, ckpt);
        }
    }

    @Test
    void theSameCheckpointGivesTheSameFingerprintHoweverItsFilesAreSplit(@TempDir Path tmp) throws Exception {
        String fixture = fingerprint(Fixtures.tiny());
        assertTrue(fixture.matches("[0-9a-f]{16}"), fixture);
        assertEquals(fixture, fingerprint(Fixtures.tiny()));

        SyntheticCheckpoint.Shape tiny = SyntheticCheckpoint.preset("tiny");
        SyntheticCheckpoint.write(tmp.resolve("one"), tiny.withSeed(1));
        SyntheticCheckpoint.write(tmp.resolve("many"), tiny.withSeed(2), 200_000, SyntheticCheckpoint.ProgressListener.NONE);
        assertTrue(Files.list(tmp.resolve("many")).filter(p -> p.toString().endsWith(".safetensors")).count() > 2);
        assertEquals(fingerprint(tmp.resolve("one")), fingerprint(tmp.resolve("many")),
                "same config and tensor index; the weights' bytes are not part of it");
    }

    @Test
    void aChangedConfigOrTensorIndexChangesIt(@TempDir Path tmp) throws Exception {
        SyntheticCheckpoint.Shape tiny = SyntheticCheckpoint.preset("tiny");
        Path base = tmp.resolve("base"), config = tmp.resolve("config"), tensors = tmp.resolve("tensors");
        SyntheticCheckpoint.write(base, tiny);
        SyntheticCheckpoint.write(config, tiny);
        Files.writeString(config.resolve("config.json"),
                Files.readString(config.resolve("config.json")).replace("\"rms_norm_eps\"", "\"rms_norm_eps\" ").concat("\n"));
        SyntheticCheckpoint.write(tensors, tiny.withLayers(3));
        Files.copy(base.resolve("config.json"), tensors.resolve("config.json"), StandardCopyOption.REPLACE_EXISTING);

        String fp = fingerprint(base);
        assertNotEquals(fp, fingerprint(config), "config.json's bytes count");
        assertNotEquals(fp, fingerprint(tensors), "the tensor index counts");
        assertNotEquals(fp, fingerprint(Fixtures.tiny()), "the fixture's config.json differs from the synthetic one");
    }
}
