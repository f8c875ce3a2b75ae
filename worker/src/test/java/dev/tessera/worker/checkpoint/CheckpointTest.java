package dev.tessera.worker.checkpoint;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Opening checkpoint directories: index or single file, and the errors of a broken one. */
class CheckpointTest {

    @TempDir Path dir;

    private static void shard(Path file, String... names) throws IOException {
        SafetensorsWriter w = new SafetensorsWriter();
        for (String n : names) w.addFloats(n, DType.BF16, new long[] {2}, new float[] {1f, 2f});
        w.write(file);
    }

    private void index(String weightMapJson) throws IOException {
        Files.writeString(dir.resolve(Checkpoint.INDEX_FILE),
                "{\"metadata\":{\"total_size\":8},\"weight_map\":" + weightMapJson + "}");
    }

    private CheckpointException fails(String... parts) {
        var e = assertThrows(CheckpointException.class, () -> Checkpoint.open(dir).close());
        for (String p : parts) assertTrue(e.getMessage().contains(p), "'" + p + "' not in: " + e.getMessage());
        return e;
    }

    @Test
    void singleFileWithoutIndex() throws IOException {
        shard(dir.resolve(Checkpoint.SINGLE_FILE), "a", "b");
        try (Checkpoint c = Checkpoint.open(dir)) {
            assertEquals(List.of("a", "b"), List.copyOf(c.names()));
            assertEquals(2f, c.tensor("b", DType.BF16, 2).getFloat(1));
            assertEquals(8, c.totalBytes());
            assertEquals(dir, c.directory());
        }
    }

    @Test
    void indexTakesShardNamesFromTheWeightMap() throws IOException {
        shard(dir.resolve("weights-b.safetensors"), "x", "unindexed");
        shard(dir.resolve("weights-a.safetensors"), "y");
        shard(dir.resolve(Checkpoint.SINGLE_FILE), "ignored"); // the index wins
        index("{\"y\":\"weights-a.safetensors\",\"x\":\"weights-b.safetensors\"}");
        try (Checkpoint c = Checkpoint.open(dir)) {
            assertEquals(List.of("y", "x"), List.copyOf(c.names()));
            assertTrue(c.contains("x") && !c.contains("unindexed") && !c.contains("ignored"));
            assertEquals(2, c.shardFiles().size());
        }
    }

    @Test
    void neitherIndexNorSingleFile() {
        fails(dir.toString(), "neither model.safetensors.index.json nor model.safetensors exists");
    }

    @Test
    void notADirectory() {
        var e = assertThrows(CheckpointException.class, () -> Checkpoint.open(dir.resolve("nope")));
        assertTrue(e.getMessage().contains("nope") && e.getMessage().contains("not a directory"), e.getMessage());
    }

    @Test
    void indexNamesAMissingShard() throws IOException {
        shard(dir.resolve("model-00001-of-00002.safetensors"), "a");
        index("{\"a\":\"model-00001-of-00002.safetensors\",\"b\":\"model-00002-of-00002.safetensors\"}");
        var e = fails(dir.resolve(Checkpoint.INDEX_FILE).toString(), "b in ", "'model-00002-of-00002.safetensors'", "does not exist");
        assertEquals("b", e.tensor());
    }

    @Test
    void indexNamesATensorItsShardLacks() throws IOException {
        shard(dir.resolve("s.safetensors"), "a");
        index("{\"a\":\"s.safetensors\",\"b\":\"s.safetensors\"}");
        fails("b in " + dir.resolve("s.safetensors"), "not in the shard");
    }

    @Test
    void indexMayNotPointOutsideItsDirectory() throws IOException {
        shard(dir.resolve("s.safetensors"), "a");
        Path inner = Files.createDirectory(dir.resolve("inner"));
        Files.writeString(inner.resolve(Checkpoint.INDEX_FILE), "{\"weight_map\":{\"a\":\"../s.safetensors\"}}");
        var e = assertThrows(CheckpointException.class, () -> Checkpoint.open(inner));
        assertTrue(e.getMessage().contains("outside"), e.getMessage());
    }

    @Test
    void brokenIndex() throws IOException {
        Files.writeString(dir.resolve(Checkpoint.INDEX_FILE), "{\"metadata\":{}}");
        fails(Checkpoint.INDEX_FILE, "no 'weight_map'");
        Files.writeString(dir.resolve(Checkpoint.INDEX_FILE), "{\"weight_map\":{\"a\":\"x\",\"a\":\"y\"}}");
        fails(Checkpoint.INDEX_FILE, "not valid JSON", "Duplicate");
        Files.writeString(dir.resolve(Checkpoint.INDEX_FILE), "{\"weight_map\":{\"a\":3}}");
        fails(Checkpoint.INDEX_FILE, "a in ", "not a file name");
    }

    @Test
    void aBrokenShardIsReportedByItsOwnName() throws IOException {
        Files.write(dir.resolve("bad.safetensors"), new byte[3]);
        index("{\"a\":\"bad.safetensors\"}");
        fails(dir.resolve("bad.safetensors").toString(), "shorter than the 8-byte header length");
    }
}
