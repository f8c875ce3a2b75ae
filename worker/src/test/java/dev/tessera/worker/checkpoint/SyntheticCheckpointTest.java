package dev.tessera.worker.checkpoint;

import dev.tessera.worker.Fixtures;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tessera.worker.checkpoint.SyntheticCheckpoint.Shape;
import dev.tessera.worker.model.ModelConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Synthetic checkpoints: the real layout, sharded, reproducible, numerically sane. */
class SyntheticCheckpointTest {

    private static final long SMALL_SHARDS = 400_000;

    @TempDir Path tmp;

    private Path write(String name, Shape shape) throws IOException {
        Path dir = tmp.resolve(name);
        SyntheticCheckpoint.write(dir, shape, SMALL_SHARDS, SyntheticCheckpoint.ProgressListener.NONE);
        return dir;
    }

    private static List<Path> files(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.sorted().toList();
        }
    }

    @Test
    void tinyPresetHasTheFixturesTensorsShardsAndConfig() throws IOException {
        Path dir = write("tiny", SyntheticCheckpoint.preset("tiny"));
        ModelConfig expected = ModelConfig.load(Fixtures.tiny());
        assertEquals(expected, ModelConfig.load(dir));

        try (Checkpoint synthetic = Checkpoint.open(dir); Checkpoint fixture = Checkpoint.open(Fixtures.tiny())) {
            assertEquals(new TreeSet<>(fixture.names()), new TreeSet<>(synthetic.names()));
            for (String n : fixture.names()) {
                Tensor f = fixture.tensor(n);
                synthetic.tensor(n, f.dtype(), f.shape());
            }
            assertEquals(fixture.totalBytes(), synthetic.totalBytes());
            assertTrue(synthetic.shardFiles().size() >= 3, "shards: " + synthetic.shardFiles());
            for (Path shard : synthetic.shardFiles()) {
                try (SafetensorsFile s = SafetensorsFile.open(shard)) {
                    long bytes = s.tensors().values().stream().mapToLong(t -> t.data().byteSize()).sum();
                    assertTrue(bytes <= SMALL_SHARDS, shard + " holds " + bytes + " bytes");
                    assertEquals("pt", s.metadata().get("format"));
                }
            }
        }
        int count;
        try (Checkpoint c = Checkpoint.open(dir)) { count = c.shardFiles().size(); }
        String last = String.format("%05d", count - 1);
        assertTrue(Files.exists(dir.resolve("model-00000-of-" + last + ".safetensors")), "zero-based names");
        JsonNode index = new ObjectMapper().readTree(dir.resolve(Checkpoint.INDEX_FILE).toFile());
        assertEquals(SyntheticCheckpoint.preset("tiny").totalBytes(), index.path("metadata").path("total_size").asLong());
    }

    @Test
    void customShapeHasEveryTensorOfTheHfLayout() throws IOException {
        Shape shape = new Shape(3, 4, 2, 64, 96, 4, 2, 16, 300, 16, 7);
        Path dir = write("custom", shape);
        ModelConfig c = ModelConfig.load(dir);
        assertEquals(List.of(true, false, true), c.slidingLayers());
        assertEquals(16, c.slidingWindow());
        assertEquals(4, c.numExperts());
        assertEquals(2, c.expertsPerToken());
        assertEquals(7.0f, c.swigluLimit());
        assertEquals(new ModelConfig.Rope(150000, 32, 32, 1, 4096), c.rope());

        try (Checkpoint ck = Checkpoint.open(dir)) {
            assertEquals(3 * 19 + 3, ck.names().size());
            ck.tensor("model.embed_tokens.weight", DType.BF16, 300, 64);
            ck.tensor("lm_head.weight", DType.BF16, 300, 64);
            ck.tensor("model.norm.weight", DType.BF16, 64);
            for (int i = 0; i < 3; i++) {
                String p = "model.layers." + i + ".";
                ck.tensor(p + "input_layernorm.weight", DType.BF16, 64);
                ck.tensor(p + "post_attention_layernorm.weight", DType.BF16, 64);
                ck.tensor(p + "self_attn.q_proj.weight", DType.BF16, 64, 64);
                ck.tensor(p + "self_attn.q_proj.bias", DType.BF16, 64);
                ck.tensor(p + "self_attn.k_proj.weight", DType.BF16, 32, 64);
                ck.tensor(p + "self_attn.k_proj.bias", DType.BF16, 32);
                ck.tensor(p + "self_attn.v_proj.weight", DType.BF16, 32, 64);
                ck.tensor(p + "self_attn.v_proj.bias", DType.BF16, 32);
                ck.tensor(p + "self_attn.o_proj.weight", DType.BF16, 64, 64);
                ck.tensor(p + "self_attn.o_proj.bias", DType.BF16, 64);
                ck.tensor(p + "self_attn.sinks", DType.BF16, 4);
                ck.tensor(p + "mlp.router.weight", DType.BF16, 4, 64);
                ck.tensor(p + "mlp.router.bias", DType.BF16, 4);
                ck.tensor(p + "mlp.experts.gate_up_proj_blocks", DType.U8, 4, 192, 2, 16);
                ck.tensor(p + "mlp.experts.gate_up_proj_scales", DType.U8, 4, 192, 2);
                ck.tensor(p + "mlp.experts.gate_up_proj_bias", DType.BF16, 4, 192);
                ck.tensor(p + "mlp.experts.down_proj_blocks", DType.U8, 4, 64, 3, 16);
                ck.tensor(p + "mlp.experts.down_proj_scales", DType.U8, 4, 64, 3);
                ck.tensor(p + "mlp.experts.down_proj_bias", DType.BF16, 4, 64);
            }
            for (TensorSpec spec : GptOssLayout.tensors(c)) ck.tensor(spec.name(), spec.dtype(), spec.shape());
        }
    }

    @Test
    void sameSeedGivesIdenticalBytesAndAnotherSeedDoesNot() throws IOException {
        Shape shape = SyntheticCheckpoint.preset("tiny");
        Path a = write("a", shape), b = write("b", shape), c = write("c", shape.withSeed(99));
        List<Path> filesA = files(a);
        assertEquals(filesA.stream().map(Path::getFileName).toList(), files(b).stream().map(Path::getFileName).toList());
        for (Path f : filesA) assertEquals(-1L, Files.mismatch(f, b.resolve(f.getFileName())), f + " differs");

        assertEquals(-1L, Files.mismatch(a.resolve("config.json"), c.resolve("config.json")));
        int differing = 0;
        for (Path f : filesA)
            if (f.toString().endsWith(".safetensors") && Files.mismatch(f, c.resolve(f.getFileName())) != -1) differing++;
        assertEquals(filesA.stream().filter(f -> f.toString().endsWith(".safetensors")).count(), differing);
    }

    @Test
    void valuesHaveTheIntendedScales() throws IOException {
        Path dir = write("stats", SyntheticCheckpoint.preset("tiny"));
        try (Checkpoint c = Checkpoint.open(dir)) {
            assertStats(c.tensor("model.embed_tokens.weight").toFloats(), 0, 1);
            assertStats(c.tensor("model.layers.1.self_attn.q_proj.weight").toFloats(), 0, 1 / Math.sqrt(128));
            assertStats(c.tensor("model.layers.1.self_attn.o_proj.weight").toFloats(), 0, 1 / Math.sqrt(256));
            assertStats(c.tensor("model.layers.2.input_layernorm.weight").toFloats(), 1, 0.1);
            assertStats(c.tensor("model.layers.2.mlp.experts.gate_up_proj_bias").toFloats(), 0, 0.02);

            for (String proj : List.of("gate_up_proj", "down_proj")) {
                Tensor blocks = c.tensor("model.layers.3.mlp.experts." + proj + "_blocks");
                Tensor scales = c.tensor("model.layers.3.mlp.experts." + proj + "_scales");
                long in = blocks.shape()[2] * 32;
                int base = SyntheticTensors.baseScale(in);
                for (int s : scales.toInts()) assertTrue(Math.abs(s - base) <= 1, "scale " + s + " vs " + base);
                double std = std(Mxfp4.dequantize(blocks, scales, 6));
                double target = 1 / Math.sqrt(in);
                assertTrue(std > 0.6 * target && std < 1.8 * target, proj + " std " + std + " vs " + target);
            }
        }
    }

    private static void assertStats(float[] v, double mean, double std) {
        double m = 0;
        for (float x : v) m += x;
        m /= v.length;
        double s = std(v);
        assertEquals(mean, m, 4 * std / Math.sqrt(v.length) + 1e-3 * Math.abs(mean), "mean");
        assertEquals(std, s, 0.1 * std, "std");
    }

    private static double std(float[] v) {
        double m = 0, q = 0;
        for (float x : v) m += x;
        m /= v.length;
        for (float x : v) q += (x - m) * (x - m);
        return Math.sqrt(q / v.length);
    }

    @Test
    void progressRunsFromZeroToTotal() throws IOException {
        Shape shape = SyntheticCheckpoint.preset("tiny").withLayers(2);
        List<long[]> calls = new ArrayList<>();
        SyntheticCheckpoint.write(tmp.resolve("p"), shape, SMALL_SHARDS, (done, total) -> calls.add(new long[] {done, total}));
        long total = shape.totalBytes();
        assertArrayEquals(new long[] {0, total}, calls.getFirst());
        assertArrayEquals(new long[] {total, total}, calls.getLast());
        for (int i = 1; i < calls.size(); i++) assertTrue(calls.get(i)[0] >= calls.get(i - 1)[0]);
    }

    @Test
    void presetsMatchThePublishedModels() {
        assertEquals(List.of("gpt-oss-120b", "gpt-oss-20b", "demo", "tiny"), SyntheticCheckpoint.presets());
        Shape big = SyntheticCheckpoint.preset("gpt-oss-120b");
        assertEquals(687, big.tensors().size());
        assertEquals(65_248_815_744L, big.totalBytes()); // gpt-oss.md §1.4: the published index's total_size
        Shape twenty = SyntheticCheckpoint.preset("gpt-oss-20b");
        assertEquals(459, twenty.tensors().size());
        assertEquals(13_761_264_768L, twenty.totalBytes());
        assertEquals(new Shape(4, 8, 4, 128, 64, 8, 2, 32, 512, 8, 0), SyntheticCheckpoint.preset("tiny"));
        assertEquals(2, big.withLayers(2).layers());
        assertEquals(128, big.withLayers(2).experts());

        var e = assertThrows(IllegalArgumentException.class, () -> SyntheticCheckpoint.preset("gpt-oss-7b"));
        assertTrue(e.getMessage().contains("'gpt-oss-7b'") && e.getMessage().contains("gpt-oss-120b, gpt-oss-20b, demo, tiny"),
                e.getMessage());
    }

    @Test
    void shapeRejectsWhatNoCheckpointCanHold() {
        Shape t = SyntheticCheckpoint.preset("tiny");
        assertThrows(IllegalArgumentException.class, () -> t.withLayers(0));
        for (var bad : List.<Runnable>of(
                () -> new Shape(2, 8, 9, 128, 64, 8, 2, 32, 512, 8, 0),   // more experts per token than experts
                () -> new Shape(2, 8, 4, 100, 64, 8, 2, 32, 512, 8, 0),   // hidden not a multiple of 32
                () -> new Shape(2, 8, 4, 128, 48, 8, 2, 32, 512, 8, 0),   // intermediate not a multiple of 32
                () -> new Shape(2, 8, 4, 128, 64, 8, 3, 32, 512, 8, 0),   // heads not a multiple of kv heads
                () -> new Shape(2, 8, 4, 128, 64, 8, 2, 31, 512, 8, 0),   // odd head dim
                () -> new Shape(2, 8, 4, 128, 64, 8, 2, 32, 0, 8, 0),
                () -> new Shape(2, 8, 4, 128, 64, 8, 2, 32, 512, 0, 0)))
            assertThrows(IllegalArgumentException.class, bad::run);
    }

    @Test
    void shardPlanKeepsOrderAndGivesOversizedTensorsTheirOwnShard() {
        List<TensorSpec> specs = List.of(
                new TensorSpec("a", DType.U8, new long[] {60}, TensorSpec.Role.BIAS),
                new TensorSpec("b", DType.U8, new long[] {40}, TensorSpec.Role.BIAS),
                new TensorSpec("c", DType.U8, new long[] {250}, TensorSpec.Role.BIAS),
                new TensorSpec("d", DType.U8, new long[] {1}, TensorSpec.Role.BIAS));
        List<List<String>> names = SyntheticCheckpoint.plan(specs, 100).stream()
                .map(s -> s.stream().map(TensorSpec::name).toList()).toList();
        assertEquals(List.of(List.of("a", "b"), List.of("c"), List.of("d")), names);
        assertEquals("model-00000-of-00014.safetensors", SyntheticCheckpoint.shardName(0, 15));
        assertEquals("model-00014-of-00014.safetensors", SyntheticCheckpoint.shardName(14, 15));
        assertEquals("model-00001-of-00001.safetensors", SyntheticCheckpoint.shardName(1, 2));
    }
}
