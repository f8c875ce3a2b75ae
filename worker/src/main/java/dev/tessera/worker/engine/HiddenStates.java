package dev.tessera.worker.engine;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The residual stream of a step as it crosses a shard boundary: float32, little-endian, row-major
 * {@code [tokens, width]}. These are the bytes a stage ships to the next one unchanged.
 */
public record HiddenStates(int tokens, int width, byte[] bytes) {

    public HiddenStates {
        if ((long) tokens * width * Float.BYTES != bytes.length)
            throw new IllegalArgumentException("hidden states of " + tokens + "x" + width + " need "
                    + (long) tokens * width * Float.BYTES + " bytes, got " + bytes.length);
    }

    public static HiddenStates of(float[] values, int tokens, int width) {
        ByteBuffer buf = ByteBuffer.allocate(values.length * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
        buf.asFloatBuffer().put(values);
        return new HiddenStates(tokens, width, buf.array());
    }

    public float[] toFloats() {
        float[] out = new float[tokens * width];
        ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(out);
        return out;
    }
}
