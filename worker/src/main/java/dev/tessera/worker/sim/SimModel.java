package dev.tessera.worker.sim;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tessera.worker.checkpoint.SyntheticCheckpoint;
import dev.tessera.worker.model.ModelConfig;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * The model a simulated worker stands in for: its shape (from a checkpoint's {@code config.json} alone, or a preset
 * such as gpt-oss-120b), its name, its context length and its fingerprint. No weights are read.
 *
 * <p>NOTE: the fingerprint is {@code "sim-"} and 12 hex digits of a SHA-256 over a marker and the config's bytes, so a
 * simulated stage never has the fingerprint of a real checkpoint and the coordinator never chains simulated and real
 * stages into one replica; simulated stages of the same config (or preset) share it, in every process.
 *
 * @param name             the model's name: the checkpoint directory's name, or the preset's
 * @param config           its shape
 * @param maxContextTokens {@code max_position_embeddings}, or what YaRN stretches the original context to
 * @param fingerprint      see the note
 */
public record SimModel(String name, ModelConfig config, int maxContextTokens, String fingerprint) {

    public SimModel {
        if (name == null || name.isBlank()) throw new IllegalArgumentException("a simulated model needs a name");
        if (maxContextTokens < 1) throw new IllegalArgumentException("the context must be positive, got " + maxContextTokens);
        if (fingerprint == null || !fingerprint.startsWith("sim-"))
            throw new IllegalArgumentException("a simulated model's fingerprint starts with 'sim-', got " + fingerprint);
    }

    private static final ObjectMapper JSON = new ObjectMapper();

    /** {@code dir/config.json} alone (the directory needs no weights). */
    public static SimModel fromDirectory(Path dir) throws IOException {
        Path file = dir.resolve("config.json");
        if (!Files.isRegularFile(file)) throw new IOException("no config.json in " + dir);
        byte[] bytes = Files.readAllBytes(file);
        ModelConfig config = ModelConfig.load(dir);
        Path fileName = dir.toAbsolutePath().normalize().getFileName();
        return of(fileName == null ? dir.toString() : fileName.toString(), config, JSON.readTree(bytes), bytes);
    }

    /**
     * A preset shape of {@link SyntheticCheckpoint#presets()}, e.g. "gpt-oss-120b", named after the preset.
     *
     * @throws IllegalArgumentException for an unknown preset
     */
    public static SimModel preset(String name) {
        JsonNode root = SyntheticCheckpoint.config(SyntheticCheckpoint.preset(name));
        byte[] bytes;
        try {
            bytes = JSON.writeValueAsBytes(root);
        } catch (IOException e) {
            throw new IllegalStateException("cannot write the preset config of " + name, e);
        }
        return of(name, ModelConfig.parse(root), root, bytes);
    }

    /** {@link #fromDirectory} when {@code dir} is given, else {@link #preset}. */
    public static SimModel resolve(Path dir, String preset) throws IOException {
        return dir != null ? fromDirectory(dir) : preset(preset);
    }

    private static SimModel of(String name, ModelConfig config, JsonNode root, byte[] configBytes) {
        JsonNode max = root.get("max_position_embeddings");
        int context = max != null && max.canConvertToInt() && max.intValue() > 0 ? max.intValue()
                : (int) Math.min(Integer.MAX_VALUE, (long) (config.rope().originalMaxPositions() * config.rope().factor()));
        MessageDigest sha;
        try {
            sha = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("this JVM has no SHA-256", e);
        }
        sha.update("simulated stage\nconfig.json\n".getBytes(StandardCharsets.UTF_8));
        sha.update(configBytes);
        return new SimModel(name, config, context, "sim-" + HexFormat.of().formatHex(sha.digest(), 0, 6));
    }
}
