package dev.tessera.worker.serve;

import dev.tessera.worker.checkpoint.Checkpoint;
import dev.tessera.worker.checkpoint.Tensor;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

/**
 * The model fingerprint that workers report (WorkerInfo.model_fingerprint) and routes name: the first 16 hex digits of
 * a SHA-256 over {@code config.json}'s bytes and the checkpoint's tensor index (every tensor's name, dtype and shape,
 * sorted by name).
 *
 * <p>The same checkpoint gives the same fingerprint in every process, whichever files its tensors are split over;
 * a changed config, or any tensor added, removed, renamed, retyped or reshaped, gives another.
 *
 * <p>NOTE: the tensors' bytes are not hashed: that would read the whole checkpoint (65 GB for gpt-oss-120b) at every
 * start. Two checkpoints of the same shape with different weights (a fine-tune) share a fingerprint; name them apart
 * with their directories or config.
 */
public final class ModelFingerprint {

    private ModelFingerprint() {}

    /** Fingerprint of the checkpoint {@code ckpt}, opened from {@code dir}. */
    public static String of(Path dir, Checkpoint ckpt) throws IOException {
        MessageDigest sha = sha256();
        Path config = dir.resolve("config.json");
        if (!Files.isRegularFile(config)) throw new IOException("no config.json in " + dir);
        sha.update("config.json\n".getBytes(StandardCharsets.UTF_8));
        sha.update(Files.readAllBytes(config));
        sha.update("\ntensors\n".getBytes(StandardCharsets.UTF_8));
        List<String> names = new ArrayList<>(ckpt.names());
        names.sort(null);
        StringBuilder line = new StringBuilder();
        for (String name : names) {
            Tensor t = ckpt.tensor(name);
            line.setLength(0);
            line.append(name).append('\t').append(t.dtype().name()).append('\t');
            for (int i = 0; i < t.shape().length; i++) line.append(i == 0 ? "" : ",").append(t.shape()[i]);
            line.append('\n');
            sha.update(line.toString().getBytes(StandardCharsets.UTF_8));
        }
        return HexFormat.of().formatHex(sha.digest(), 0, 8);
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("this JVM has no SHA-256", e);
        }
    }
}
