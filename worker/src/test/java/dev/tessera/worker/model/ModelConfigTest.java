package dev.tessera.worker.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.worker.Fixtures;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ModelConfigTest {

    @Test
    void readsTheFixture() throws IOException {
        ModelConfig c = ModelConfig.load(Fixtures.tiny());
        assertEquals(128, c.hiddenSize());
        assertEquals(4, c.numLayers());
        assertEquals(256, c.qWidth());
        assertEquals(64, c.kvWidth());
        assertEquals(8, c.slidingWindow());
        assertTrue(c.isSliding(0) && !c.isSliding(1));
        assertEquals(150000.0, c.rope().theta());
        assertEquals(1.702f, c.swigluAlpha());
    }

    @Test
    void badConfigsSayWhatIsWrong(@TempDir Path dir) throws IOException {
        String fixture = Files.readString(Fixtures.tiny().resolve("config.json"));
        Files.writeString(dir.resolve("config.json"), fixture.replace("\"hidden_size\": 128,", ""));
        IOException missing = assertThrows(IOException.class, () -> ModelConfig.load(dir));
        assertTrue(missing.getMessage().contains("missing field 'hidden_size'"), missing.getMessage());

        Files.writeString(dir.resolve("config.json"), fixture.replace("\"num_key_value_heads\": 2", "\"num_key_value_heads\": 3"));
        IOException heads = assertThrows(IOException.class, () -> ModelConfig.load(dir));
        assertTrue(heads.getMessage().contains("multiple of num_key_value_heads"), heads.getMessage());

        Files.writeString(dir.resolve("config.json"), "{not json");
        IOException json = assertThrows(IOException.class, () -> ModelConfig.load(dir));
        assertTrue(json.getMessage().contains("not valid JSON"), json.getMessage());

        Files.delete(dir.resolve("config.json"));
        IOException none = assertThrows(IOException.class, () -> ModelConfig.load(dir));
        assertTrue(none.getMessage().contains("no config.json"), none.getMessage());
    }
}
