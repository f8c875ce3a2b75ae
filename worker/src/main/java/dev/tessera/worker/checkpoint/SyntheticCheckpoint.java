package dev.tessera.worker.checkpoint;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Writes a random gpt-oss checkpoint in the Hugging Face layout (gpt-oss.md §3.1, §3.2): a published-style
 * {@code config.json}, safetensors shards and {@code model.safetensors.index.json}. For tests, demos and load tests of
 * any model size without downloading weights.
 *
 * <p>Everything streams through one 1 MiB buffer, so a full gpt-oss-120b (61 GB) can be written on a small heap.
 * The same {@link Shape} (seed included) gives byte-identical files; see {@link SyntheticTensors} for the values.
 */
public final class SyntheticCheckpoint {

    /** The default largest shard, in tensor bytes. */
    public static final long DEFAULT_MAX_SHARD_BYTES = 2L << 30;

    /** Told how far the write has got; called after every chunk, from the writing thread. */
    @FunctionalInterface
    public interface ProgressListener {
        ProgressListener NONE = (written, total) -> {};

        void onProgress(long bytesWritten, long totalBytes);
    }

    /** The dimensions of a gpt-oss model and the seed of its random weights; validated on construction. */
    public record Shape(int layers, int experts, int expertsPerToken, int hidden, int intermediate, int heads,
                        int kvHeads, int headDim, int vocab, int window, long seed) {

        public Shape {
            require(layers > 0, "layers must be positive, got " + layers);
            require(experts > 0, "experts must be positive, got " + experts);
            require(expertsPerToken > 0 && expertsPerToken <= experts,
                    "expertsPerToken must be in 1.." + experts + ", got " + expertsPerToken);
            require(hidden > 0 && hidden % Mxfp4.GROUP == 0, "hidden must be a positive multiple of 32, got " + hidden);
            require(intermediate > 0 && intermediate % Mxfp4.GROUP == 0,
                    "intermediate must be a positive multiple of 32, got " + intermediate);
            require(heads > 0 && kvHeads > 0 && heads % kvHeads == 0,
                    "heads (" + heads + ") must be a positive multiple of kvHeads (" + kvHeads + ")");
            require(headDim > 0 && headDim % 2 == 0, "headDim must be positive and even (rotary pairs), got " + headDim);
            require(vocab > 0, "vocab must be positive, got " + vocab);
            require(window > 0, "window must be positive, got " + window);
        }

        private static void require(boolean ok, String message) {
            if (!ok) throw new IllegalArgumentException("synthetic shape: " + message);
        }

        /** This shape cut (or grown) to {@code layers} layers. */
        public Shape withLayers(int layers) {
            return new Shape(layers, experts, expertsPerToken, hidden, intermediate, heads, kvHeads, headDim, vocab, window, seed);
        }

        public Shape withSeed(long seed) {
            return new Shape(layers, experts, expertsPerToken, hidden, intermediate, heads, kvHeads, headDim, vocab, window, seed);
        }

        /** The tensors of this shape, in checkpoint order. */
        public List<TensorSpec> tensors() {
            return GptOssLayout.tensors(layers, experts, hidden, intermediate, heads, kvHeads, headDim, vocab);
        }

        /** The checkpoint's tensor bytes (its index's total_size). */
        public long totalBytes() { return GptOssLayout.totalBytes(tensors()); }
    }

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Map<String, Shape> PRESETS = new LinkedHashMap<>();

    static {
        PRESETS.put("gpt-oss-120b", new Shape(36, 128, 4, 2880, 2880, 64, 8, 64, 201088, 128, 0));
        PRESETS.put("gpt-oss-20b", new Shape(24, 32, 4, 2880, 2880, 64, 8, 64, 201088, 128, 0));
        PRESETS.put("demo", new Shape(4, 16, 4, 256, 256, 8, 2, 32, 201088, 128, 0));
        PRESETS.put("tiny", new Shape(4, 8, 4, 128, 64, 8, 2, 32, 512, 8, 0)); // the shape of shared/fixtures/gpt-oss-tiny
    }

    private SyntheticCheckpoint() {}

    /** The preset names, in a stable order. */
    public static List<String> presets() { return List.copyOf(PRESETS.keySet()); }

    /** A preset shape (seed 0): gpt-oss-120b, gpt-oss-20b, demo or tiny. */
    public static Shape preset(String name) {
        Shape s = PRESETS.get(name);
        if (s == null)
            throw new IllegalArgumentException("unknown preset '" + name + "'; known presets: " + String.join(", ", PRESETS.keySet()));
        return s;
    }

    /** {@link #write(Path, Shape, long, ProgressListener)} with 2 GiB shards and no progress reports. */
    public static void write(Path dir, Shape shape) throws IOException {
        write(dir, shape, DEFAULT_MAX_SHARD_BYTES, ProgressListener.NONE);
    }

    /**
     * Writes {@code config.json}, the shards and the index into {@code dir} (created if absent; files of the same names
     * are replaced). A new shard starts when the next tensor would take the current one past {@code maxShardBytes};
     * a tensor larger than that gets a shard of its own.
     *
     * <p>NOTE: shards are named as in the published repositories, zero-based with the last index after "of"
     * ({@code model-00000-of-00002.safetensors} … {@code model-00002-of-00002}), the opposite convention to the
     * fixture's, so readers that guess names instead of reading the index fail on one or the other.
     */
    public static void write(Path dir, Shape shape, long maxShardBytes, ProgressListener progress) throws IOException {
        if (maxShardBytes <= 0) throw new IllegalArgumentException("maxShardBytes must be positive, got " + maxShardBytes);
        Files.createDirectories(dir);
        List<TensorSpec> specs = shape.tensors();
        List<List<TensorSpec>> shards = plan(specs, maxShardBytes);
        long total = GptOssLayout.totalBytes(specs);
        long[] done = {0};
        progress.onProgress(0, total);
        SyntheticTensors values = new SyntheticTensors(shape.seed(), n -> progress.onProgress(done[0] += n, total));

        Map<String, String> weightMap = new TreeMap<>();
        for (int k = 0; k < shards.size(); k++) {
            String fileName = shardName(k, shards.size());
            SafetensorsWriter writer = new SafetensorsWriter().metadata("format", "pt");
            for (TensorSpec spec : shards.get(k)) {
                writer.add(spec.name(), spec.dtype(), spec.shape(), values.source(spec));
                weightMap.put(spec.name(), fileName);
            }
            writer.write(dir.resolve(fileName));
        }
        writeJson(dir.resolve(Checkpoint.INDEX_FILE), index(total, weightMap));
        writeJson(dir.resolve("config.json"), config(shape));
    }

    /** Groups tensors, in order, into shards of at most {@code maxShardBytes} (except a lone oversized tensor). */
    static List<List<TensorSpec>> plan(List<TensorSpec> specs, long maxShardBytes) {
        List<List<TensorSpec>> shards = new ArrayList<>();
        List<TensorSpec> current = new ArrayList<>();
        long bytes = 0;
        for (TensorSpec s : specs) {
            if (!current.isEmpty() && bytes + s.byteSize() > maxShardBytes) {
                shards.add(current);
                current = new ArrayList<>();
                bytes = 0;
            }
            current.add(s);
            bytes += s.byteSize();
        }
        shards.add(current);
        return shards;
    }

    /** Shard {@code k} of {@code count}, zero-based as published: "model-00000-of-00014.safetensors" is 1 of 15. */
    static String shardName(int k, int count) {
        return String.format("model-%05d-of-%05d.safetensors", k, count - 1);
    }

    private static ObjectNode index(long totalBytes, Map<String, String> weightMap) {
        ObjectNode root = JSON.createObjectNode();
        root.putObject("metadata").put("total_size", totalBytes);
        ObjectNode map = root.putObject("weight_map");
        weightMap.forEach(map::put);
        return root;
    }

    /** A config.json in the style of the published gpt-oss ones (gpt-oss.md §1.1), for {@code shape}. */
    public static ObjectNode config(Shape s) {
        ObjectNode c = JSON.createObjectNode();
        c.putArray("architectures").add("GptOssForCausalLM");
        c.put("attention_bias", true);
        c.put("attention_dropout", 0.0);
        // NOTE: the published eos (200002, <|return|>) and pad (199999) ids exist only in the full vocabulary.
        boolean harmonyIds = s.vocab() > 200002;
        if (harmonyIds) c.put("eos_token_id", 200002); else c.putNull("eos_token_id");
        c.put("experts_per_token", s.expertsPerToken());
        c.put("head_dim", s.headDim());
        c.put("hidden_act", "silu");
        c.put("hidden_size", s.hidden());
        c.put("initial_context_length", 4096);
        c.put("initializer_range", 0.02);
        c.put("intermediate_size", s.intermediate());
        ArrayNode types = c.putArray("layer_types");
        for (int l = 0; l < s.layers(); l++) types.add(l % 2 == 0 ? "sliding_attention" : "full_attention");
        c.put("max_position_embeddings", 131072);
        c.put("model_type", "gpt_oss");
        c.put("num_attention_heads", s.heads());
        c.put("num_experts_per_tok", s.expertsPerToken());
        c.put("num_hidden_layers", s.layers());
        c.put("num_key_value_heads", s.kvHeads());
        c.put("num_local_experts", s.experts());
        c.put("output_router_logits", false);
        if (harmonyIds) c.put("pad_token_id", 199999); else c.putNull("pad_token_id");
        ObjectNode q = c.putObject("quantization_config");
        q.putArray("modules_to_not_convert").add("model.layers.*.self_attn").add("model.layers.*.mlp.router")
                .add("model.embed_tokens").add("lm_head");
        q.put("quant_method", "mxfp4");
        c.put("rms_norm_eps", 1e-5);
        ObjectNode rope = c.putObject("rope_scaling");
        rope.put("beta_fast", 32.0);
        rope.put("beta_slow", 1.0);
        rope.put("factor", 32.0);
        rope.put("original_max_position_embeddings", 4096);
        rope.put("rope_type", "yarn");
        rope.put("truncate", false);
        c.put("rope_theta", 150000.0);
        c.put("router_aux_loss_coef", 0.9);
        c.put("sliding_window", s.window());
        c.put("swiglu_limit", 7.0);
        c.put("tie_word_embeddings", false);
        c.put("torch_dtype", "bfloat16");
        c.put("transformers_version", "4.55.0.dev0");
        c.put("use_cache", true);
        c.put("vocab_size", s.vocab());
        return c;
    }

    private static void writeJson(Path file, ObjectNode node) throws IOException {
        Files.writeString(file, JSON.writerWithDefaultPrettyPrinter().writeValueAsString(node) + "\n");
    }
}
