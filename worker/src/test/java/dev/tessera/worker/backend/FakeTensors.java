package dev.tessera.worker.backend;

import dev.tessera.worker.checkpoint.Bf16;
import dev.tessera.worker.checkpoint.DType;
import dev.tessera.worker.checkpoint.Tensor;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;

/** In-memory tensors for backend tests: bf16 values rounded to nearest even, no file behind them. */
public final class FakeTensors {

    private FakeTensors() {}

    public static Tensor bf16(String name, float[] values, long... shape) {
        ByteBuffer buf = ByteBuffer.allocate(values.length * 2).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : values) buf.putShort(Bf16.fromFloat(v));
        return new Tensor(name, DType.BF16, shape, MemorySegment.ofArray(buf.array()), Path.of("memory"));
    }

    public static Tensor u8(String name, byte[] bytes, long... shape) {
        return new Tensor(name, DType.U8, shape, MemorySegment.ofArray(bytes), Path.of("memory"));
    }

    /** {@code n} values from N(0, sigma²). */
    public static float[] gaussian(java.util.Random random, int n, double sigma) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) (random.nextGaussian() * sigma);
        return v;
    }

    /**
     * The tensors of one MoE block, in {@link Backend#experts} order after the router and its bias: router (experts
     * 2 and 5 identical, so their logits tie), MXFP4 experts with scales near 2^-4, and gate_up biases that push many
     * pre-activations past the ±7 clamp.
     */
    public static Tensor[] moe(java.util.Random random, int experts, int hidden, int inter) {
        float[] router = gaussian(random, experts * hidden, 0.3), routerBias = gaussian(random, experts, 0.5);
        System.arraycopy(router, 2 * hidden, router, 5 * hidden, hidden);
        routerBias[5] = routerBias[2];
        byte[] guBlocks = new byte[experts * 2 * inter * hidden / 2], dBlocks = new byte[experts * hidden * inter / 2];
        random.nextBytes(guBlocks);
        random.nextBytes(dBlocks);
        byte[] guScales = new byte[experts * 2 * inter * hidden / 32], dScales = new byte[experts * hidden * inter / 32];
        for (int i = 0; i < guScales.length; i++) guScales[i] = (byte) (121 + random.nextInt(6));
        for (int i = 0; i < dScales.length; i++) dScales[i] = (byte) (121 + random.nextInt(6));
        return new Tensor[] {
                bf16("router", router, experts, hidden), bf16("router.bias", routerBias, experts),
                u8("gate_up.blocks", guBlocks, experts, 2 * inter, hidden / 32, 16),
                u8("gate_up.scales", guScales, experts, 2 * inter, hidden / 32),
                bf16("gate_up.bias", gaussian(random, experts * 2 * inter, 4), experts, 2 * inter),
                u8("down.blocks", dBlocks, experts, hidden, inter / 32, 16),
                u8("down.scales", dScales, experts, hidden, inter / 32),
                bf16("down.bias", gaussian(random, experts * hidden, 1), experts, hidden)};
    }
}
