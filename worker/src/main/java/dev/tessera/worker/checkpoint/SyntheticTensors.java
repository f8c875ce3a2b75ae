package dev.tessera.worker.checkpoint;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.ShortBuffer;
import java.nio.channels.WritableByteChannel;
import java.nio.charset.StandardCharsets;
import java.util.SplittableRandom;
import java.util.function.LongConsumer;

/**
 * Random values for a synthetic gpt-oss checkpoint, streamed a chunk at a time through one reusable buffer.
 *
 * <p>Each tensor draws from its own {@link SplittableRandom} seeded by (seed, tensor name), so its bytes depend on
 * nothing else: not on sharding, not on which other tensors are written.
 *
 * <p>NOTE: the scales keep a deep stack numerically sane, activations O(1): dense weights ~ N(0, 1/√in), norm gains
 * ~ 1 + N(0, 0.1), biases ~ N(0, 0.02), sinks and embedding rows ~ N(0, 1), MXFP4 codes uniform over 0..15 with E8M0
 * scales 127 + round(log2(1 / (2.93·√in))) ± 1 (2.93 is the RMS of the E2M1 table), so dequantised weights have a
 * standard deviation of about 1/√in.
 */
public final class SyntheticTensors {

    static final int CHUNK_BYTES = 1 << 20;

    /** RMS of the 16 E2M1 values: √(68.5 / 8). */
    static final double E2M1_RMS = Math.sqrt(68.5 / 8);

    private final long seed;
    private final LongConsumer written;
    private final ByteBuffer chunk = ByteBuffer.allocateDirect(CHUNK_BYTES).order(ByteOrder.LITTLE_ENDIAN);
    private final short[] bf16 = new short[CHUNK_BYTES / 2];

    /** @param written told the number of bytes after each chunk is written */
    SyntheticTensors(long seed, LongConsumer written) {
        this.seed = seed;
        this.written = written;
    }

    SafetensorsWriter.TensorSource source(TensorSpec spec) {
        return out -> write(spec, out);
    }

    private void write(TensorSpec spec, WritableByteChannel out) throws IOException {
        SplittableRandom rng = random(seed, spec.name());
        switch (spec.role()) {
            case EMBEDDING, SINKS -> gaussian(rng, spec, 0.0, 1.0, out);
            case MATRIX -> gaussian(rng, spec, 0.0, 1.0 / Math.sqrt(spec.inFeatures()), out);
            case NORM -> gaussian(rng, spec, 1.0, 0.1, out);
            case BIAS -> gaussian(rng, spec, 0.0, 0.02, out);
            case MXFP4_BLOCKS -> codes(rng, spec.byteSize(), out);
            case MXFP4_SCALES -> scales(rng, spec.byteSize(), baseScale(spec.inFeatures()), out);
        }
    }

    /** The E8M0 scale that gives dequantised weights a standard deviation of about 1/√in. */
    public static int baseScale(long inFeatures) {
        return 127 + (int) Math.round(Math.log(1.0 / (E2M1_RMS * Math.sqrt(inFeatures))) / Math.log(2));
    }

    /** A generator for one tensor, from the checkpoint seed and the tensor's name (FNV-1a over its UTF-8 bytes). */
    public static SplittableRandom random(long seed, String name) {
        long h = 0xcbf29ce484222325L ^ seed;
        for (byte b : name.getBytes(StandardCharsets.UTF_8)) h = (h ^ (b & 0xFF)) * 0x100000001b3L;
        return new SplittableRandom(h);
    }

    /** BF16 values mean + std·N(0, 1), rounded to nearest even. */
    private void gaussian(SplittableRandom rng, TensorSpec spec, double mean, double std, WritableByteChannel out)
            throws IOException {
        long remaining = spec.numel();
        while (remaining > 0) {
            int n = (int) Math.min(remaining, bf16.length);
            for (int i = 0; i < n; i++) bf16[i] = Bf16.fromFloat((float) (mean + std * rng.nextGaussian()));
            chunk.clear();
            ShortBuffer shorts = chunk.asShortBuffer();
            shorts.put(bf16, 0, n);
            chunk.limit(2 * n);
            flush(out);
            remaining -= n;
        }
    }

    /** Uniform bytes: two uniform 4-bit codes each. */
    private void codes(SplittableRandom rng, long bytes, WritableByteChannel out) throws IOException {
        long remaining = bytes;
        while (remaining > 0) {
            int n = (int) Math.min(remaining, CHUNK_BYTES);
            chunk.clear();
            int i = 0;
            for (; i + 8 <= n; i += 8) chunk.putLong(rng.nextLong());
            for (; i < n; i++) chunk.put((byte) rng.nextInt(256));
            chunk.flip();
            flush(out);
            remaining -= n;
        }
    }

    /** E8M0 scales base − 1, base or base + 1, kept in 1..254 (never the NaN code 255). */
    private void scales(SplittableRandom rng, long bytes, int base, WritableByteChannel out) throws IOException {
        long remaining = bytes;
        while (remaining > 0) {
            int n = (int) Math.min(remaining, CHUNK_BYTES);
            chunk.clear();
            for (int i = 0; i < n; i++) chunk.put((byte) Math.clamp(base + rng.nextInt(3) - 1, 1, 254));
            chunk.flip();
            flush(out);
            remaining -= n;
        }
    }

    private void flush(WritableByteChannel out) throws IOException {
        int n = chunk.remaining();
        SafetensorsWriter.writeFully(out, chunk);
        written.accept(n);
    }
}
