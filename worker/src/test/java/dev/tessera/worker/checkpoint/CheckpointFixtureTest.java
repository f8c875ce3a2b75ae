package dev.tessera.worker.checkpoint;

import dev.tessera.worker.Fixtures;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tessera.worker.model.ModelConfig;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The shared gpt-oss-tiny fixture, read through its index (one-based shard names). */
class CheckpointFixtureTest {

    private static final Path DIR = Fixtures.tiny();
    private static final String SHARD1 = "model-00001-of-00002.safetensors";
    private static final String SHARD2 = "model-00002-of-00002.safetensors";

    @Test
    void findsAll79TensorsAcrossBothShards() throws Exception {
        try (Checkpoint c = Checkpoint.open(DIR)) {
            assertEquals(4 * GptOssLayout.PER_LAYER + GptOssLayout.GLOBAL, c.names().size());
            assertEquals(79, c.names().size());
            Set<String> files = new HashSet<>();
            for (String n : c.names()) files.add(c.tensor(n).file().getFileName().toString());
            assertEquals(Set.of(SHARD1, SHARD2), files);
            assertEquals(2, c.shardFiles().size());
            // layer 1 straddles the shards: its v_proj.weight is the first tensor of the second one
            assertEquals(SHARD2, c.tensor("model.layers.1.self_attn.v_proj.weight").file().getFileName().toString());
        }
    }

    @Test
    void knownTensorsHaveTheirShapesAndDtypes() throws Exception {
        try (Checkpoint c = Checkpoint.open(DIR)) {
            Tensor q = c.tensor("model.layers.0.self_attn.q_proj.weight", DType.BF16, 256, 128);
            assertEquals(256 * 128 * 2, q.data().byteSize());
            Tensor blocks = c.tensor("model.layers.3.mlp.experts.gate_up_proj_blocks");
            assertEquals(DType.U8, blocks.dtype());
            assertArrayEquals(new long[] {8, 128, 4, 16}, blocks.shape());
            assertArrayEquals(new long[] {8, 128, 2}, c.tensor("model.layers.2.mlp.experts.down_proj_scales").shape());
        }
    }

    @Test
    void matchesTheLayoutImpliedByConfigJson() throws Exception {
        ModelConfig config = ModelConfig.load(DIR);
        try (Checkpoint c = Checkpoint.open(DIR)) {
            for (TensorSpec spec : GptOssLayout.tensors(config)) c.tensor(spec.name(), spec.dtype(), spec.shape());
            assertEquals(c.names().size(), GptOssLayout.tensors(config).size());
        }
    }

    @Test
    void totalBytesEqualIndexTotalSize() throws Exception {
        JsonNode index = new ObjectMapper().readTree(DIR.resolve(Checkpoint.INDEX_FILE).toFile());
        long totalSize = index.path("metadata").path("total_size").asLong();
        assertEquals(1366400L, totalSize);
        try (Checkpoint c = Checkpoint.open(DIR)) {
            assertEquals(totalSize, c.totalBytes());
        }
    }

    @Test
    void bf16ValueDecodesLikeTheRawBytes() throws Exception {
        String name = "model.layers.2.input_layernorm.weight";
        int element = 5;
        // read the value with nothing but the file's bytes and the format
        byte[] raw = Files.readAllBytes(DIR.resolve(SHARD2));
        ByteBuffer buf = ByteBuffer.wrap(raw).order(ByteOrder.LITTLE_ENDIAN);
        int headerLength = Math.toIntExact(buf.getLong(0));
        JsonNode header = new ObjectMapper().readTree(Arrays.copyOfRange(raw, 8, 8 + headerLength));
        long begin = header.path(name).path("data_offsets").get(0).asLong();
        int at = Math.toIntExact(8 + headerLength + begin + 2L * element);
        int bits = (raw[at] & 0xFF) | (raw[at + 1] & 0xFF) << 8;
        float expected = Float.intBitsToFloat(bits << 16);

        try (Checkpoint c = Checkpoint.open(DIR)) {
            Tensor t = c.tensor(name);
            assertEquals(expected, t.getFloat(element));
            assertEquals(expected, t.toFloats()[element]);
            assertTrue(expected > 0.5f && expected < 1.5f, "a norm gain near 1, got " + expected);
        }
    }

    @Test
    void wrongShapeNamesTensorFileAndBothShapes() {
        try (Checkpoint c = Checkpoint.open(DIR)) {
            var e = assertThrows(CheckpointException.class,
                    () -> c.tensor("model.layers.0.self_attn.q_proj.weight", DType.BF16, 512, 128));
            assertEquals("model.layers.0.self_attn.q_proj.weight in " + DIR.resolve(SHARD1)
                    + " has shape [256, 128] but config.json implies [512, 128]", e.getMessage());
            var d = assertThrows(CheckpointException.class,
                    () -> c.tensor("model.layers.0.self_attn.q_proj.weight", DType.U8, 256, 128));
            assertTrue(d.getMessage().contains("has dtype BF16 but config.json implies U8"), d.getMessage());
        }
    }

    @Test
    void missingTensorNamesItAndTheDirectory() {
        try (Checkpoint c = Checkpoint.open(DIR)) {
            var e = assertThrows(CheckpointException.class, () -> c.tensor("model.layers.4.input_layernorm.weight"));
            assertEquals("missing tensor 'model.layers.4.input_layernorm.weight' in " + DIR, e.getMessage());
            assertEquals("model.layers.4.input_layernorm.weight", e.tensor());
        }
    }

    @Test
    void goldenFileHasF32AndI32TensorsAndMetadata() {
        try (SafetensorsFile golden = SafetensorsFile.open(DIR.resolve("golden.safetensors"))) {
            assertTrue(golden.metadata().get("source").contains("float32"), golden.metadata().toString());
            Tensor ids = golden.tensor("input_ids");
            assertEquals(DType.I32, ids.dtype());
            assertArrayEquals(new long[] {40}, ids.shape());
            assertArrayEquals(new long[] {5, 40, 128}, golden.tensor("hidden_states").shape());
            assertEquals(DType.F32, golden.tensor("logits").dtype());
            for (int id : ids.toInts()) assertTrue(id >= 0 && id < 512, "token id " + id);
        }
    }

    @Test
    void tensorsAreUnusableAfterClose() {
        Checkpoint c = Checkpoint.open(DIR);
        Tensor t = c.tensor("model.norm.weight");
        c.close();
        assertThrows(IllegalStateException.class, () -> t.getFloat(0));
    }
}
