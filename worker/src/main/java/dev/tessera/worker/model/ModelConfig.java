package dev.tessera.worker.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The shape and constants of a gpt-oss model, read from a Hugging Face {@code config.json}.
 *
 * <p>Both forms of the rotary configuration are accepted: the published one ({@code rope_theta} next to
 * {@code rope_scaling}) and the newer one ({@code rope_parameters} with {@code rope_theta} inside).
 *
 * @param slidingLayers one entry per layer: true where the layer attends to the last {@code slidingWindow} keys only
 */
public record ModelConfig(
        int hiddenSize,
        int numLayers,
        int numHeads,
        int numKvHeads,
        int headDim,
        int numExperts,
        int expertsPerToken,
        int intermediateSize,
        int vocabSize,
        int slidingWindow,
        List<Boolean> slidingLayers,
        float rmsNormEps,
        float swigluLimit,
        float swigluAlpha,
        Rope rope) {

    /** YaRN rotary parameters (gpt-oss.md §2.3). */
    public record Rope(double theta, double factor, double betaFast, double betaSlow, int originalMaxPositions) {
        public Rope {
            if (theta <= 0 || factor < 1 || betaFast <= 0 || betaSlow <= 0 || originalMaxPositions <= 0)
                throw new IllegalArgumentException("invalid rope parameters: theta=" + theta + " factor=" + factor
                        + " beta_fast=" + betaFast + " beta_slow=" + betaSlow
                        + " original_max_position_embeddings=" + originalMaxPositions);
        }
    }

    public ModelConfig {
        slidingLayers = List.copyOf(slidingLayers);
        require(hiddenSize > 0, "hidden_size must be positive");
        require(numLayers > 0, "num_hidden_layers must be positive");
        require(numHeads > 0 && numKvHeads > 0 && numHeads % numKvHeads == 0,
                "num_attention_heads (" + numHeads + ") must be a positive multiple of num_key_value_heads (" + numKvHeads + ")");
        require(headDim > 0 && headDim % 2 == 0, "head_dim must be positive and even");
        require(numExperts > 0 && expertsPerToken > 0 && expertsPerToken <= numExperts,
                "num_experts_per_tok (" + expertsPerToken + ") must be in 1.." + numExperts);
        require(intermediateSize > 0, "intermediate_size must be positive");
        require(hiddenSize % 32 == 0 && intermediateSize % 32 == 0,
                "hidden_size and intermediate_size must be multiples of 32 (the MXFP4 block size)");
        require(vocabSize > 0, "vocab_size must be positive");
        require(slidingWindow > 0, "sliding_window must be positive");
        require(slidingLayers.size() == numLayers,
                "layer_types has " + slidingLayers.size() + " entries for " + numLayers + " layers");
    }

    private static void require(boolean ok, String message) {
        if (!ok) throw new IllegalArgumentException("config.json: " + message);
    }

    /** Width of the concatenated query heads (4096 for the published models, not equal to hiddenSize). */
    public int qWidth() { return numHeads * headDim; }

    /** Width of the keys or the values of one token. */
    public int kvWidth() { return numKvHeads * headDim; }

    public boolean isSliding(int layer) { return slidingLayers.get(layer); }

    /** Reads {@code dir/config.json}. */
    public static ModelConfig load(Path dir) throws IOException {
        Path file = dir.resolve("config.json");
        if (!Files.isRegularFile(file)) throw new IOException("no config.json in " + dir);
        JsonNode root;
        try {
            root = new ObjectMapper().readTree(file.toFile());
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IOException(file + " is not valid JSON: " + e.getOriginalMessage(), e);
        }
        try {
            return parse(root);
        } catch (IllegalArgumentException e) {
            throw new IOException(file + ": " + e.getMessage(), e);
        }
    }

    public static ModelConfig parse(JsonNode c) {
        int layers = intField(c, "num_hidden_layers", null);
        int window = intField(c, "sliding_window", 128);
        List<Boolean> sliding = new ArrayList<>(layers);
        JsonNode types = c.get("layer_types");
        if (types != null && types.isArray()) {
            for (JsonNode t : types) {
                String type = t.asText();
                if (!type.equals("sliding_attention") && !type.equals("full_attention"))
                    throw new IllegalArgumentException("unknown layer type '" + type + "' in layer_types");
                sliding.add(type.equals("sliding_attention"));
            }
        } else {
            for (int l = 0; l < layers; l++) sliding.add(l % 2 == 0); // gpt-oss: even layers slide
        }

        // NOTE: rope_parameters (transformers 5) carries rope_theta inside; the published form keeps them apart.
        JsonNode rope = c.has("rope_parameters") ? c.get("rope_parameters") : c.get("rope_scaling");
        double theta = c.has("rope_parameters") ? doubleField(rope, "rope_theta", 150000.0)
                : doubleField(c, "rope_theta", 150000.0);
        Rope r;
        if (rope == null || rope.isNull()) {
            r = new Rope(theta, 1.0, 32.0, 1.0, intField(c, "initial_context_length", 4096));
        } else {
            String type = rope.has("rope_type") ? rope.get("rope_type").asText() : rope.path("type").asText("yarn");
            if (!type.equals("yarn")) throw new IllegalArgumentException("rope_type '" + type + "' is not supported (gpt-oss uses yarn)");
            if (rope.path("truncate").asBoolean(false))
                throw new IllegalArgumentException("rope truncate=true is not gpt-oss's YaRN (it keeps low/high unrounded)");
            r = new Rope(theta, doubleField(rope, "factor", 32.0), doubleField(rope, "beta_fast", 32.0),
                    doubleField(rope, "beta_slow", 1.0),
                    intField(rope, "original_max_position_embeddings", intField(c, "initial_context_length", 4096)));
        }
        int heads = intField(c, "num_attention_heads", null);
        int hidden = intField(c, "hidden_size", null);
        return new ModelConfig(
                hidden,
                layers,
                heads,
                intField(c, "num_key_value_heads", null),
                intField(c, "head_dim", c.has("head_dim") ? null : hidden / heads),
                intField(c, "num_local_experts", c.has("num_experts") ? intField(c, "num_experts", null) : null),
                intField(c, "num_experts_per_tok", c.has("experts_per_token") ? intField(c, "experts_per_token", null) : null),
                intField(c, "intermediate_size", null),
                intField(c, "vocab_size", null),
                window,
                sliding,
                (float) doubleField(c, "rms_norm_eps", 1e-5),
                (float) doubleField(c, "swiglu_limit", 7.0),
                (float) doubleField(c, "swiglu_alpha", 1.702),
                r);
    }

    private static int intField(JsonNode node, String name, Integer fallback) {
        JsonNode v = node.get(name);
        if (v == null || v.isNull()) {
            if (fallback == null) throw new IllegalArgumentException("missing field '" + name + "'");
            return fallback;
        }
        if (!v.canConvertToInt() || !v.isIntegralNumber())
            throw new IllegalArgumentException("field '" + name + "' must be an integer, got " + v);
        return v.intValue();
    }

    private static double doubleField(JsonNode node, String name, double fallback) {
        JsonNode v = node.get(name);
        if (v == null || v.isNull()) return fallback;
        if (!v.isNumber()) throw new IllegalArgumentException("field '" + name + "' must be a number, got " + v);
        return v.doubleValue();
    }
}
