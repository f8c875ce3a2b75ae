package dev.tessera.worker.sim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.worker.Fixtures;
import dev.tessera.worker.checkpoint.Checkpoint;
import dev.tessera.worker.serve.ModelFingerprint;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SimModelTest {

    @Test
    void aPresetNeedsNoFilesAndHasAStableSimulatedFingerprint() {
        SimModel m = SimModel.preset("gpt-oss-120b");
        assertEquals("gpt-oss-120b", m.name());
        assertEquals(36, m.config().numLayers());
        assertEquals(201088, m.config().vocabSize());
        assertEquals(131072, m.maxContextTokens());
        assertTrue(m.fingerprint().matches("sim-[0-9a-f]{12}"), m.fingerprint());
        assertEquals(m.fingerprint(), SimModel.preset("gpt-oss-120b").fingerprint());
        assertNotEquals(m.fingerprint(), SimModel.preset("gpt-oss-20b").fingerprint());
        assertThrows(IllegalArgumentException.class, () -> SimModel.preset("gpt-oss-7b"));
    }

    @Test
    void aDirectoryGivesItsConfigOnlyAndNeverTheRealFingerprint(@TempDir Path tmp) throws Exception {
        Path tiny = Fixtures.tiny();
        SimModel m = SimModel.fromDirectory(tiny);
        assertEquals("gpt-oss-tiny", m.name());
        assertEquals(4, m.config().numLayers());
        assertEquals(512, m.config().vocabSize());
        try (Checkpoint ckpt = Checkpoint.open(tiny)) {
            assertNotEquals(ModelFingerprint.of(tiny, ckpt), m.fingerprint());
        }
        Path onlyConfig = tmp.resolve("gpt-oss-tiny");
        Files.createDirectories(onlyConfig);
        Files.copy(tiny.resolve("config.json"), onlyConfig.resolve("config.json"));
        assertEquals(m, SimModel.fromDirectory(onlyConfig), "no weights needed; same config, same fingerprint");
        assertThrows(java.io.IOException.class, () -> SimModel.fromDirectory(tmp.resolve("missing")));
        assertEquals(SimModel.preset(Simulation.DEFAULT_PRESET), SimModel.resolve(null, Simulation.DEFAULT_PRESET));
    }
}
