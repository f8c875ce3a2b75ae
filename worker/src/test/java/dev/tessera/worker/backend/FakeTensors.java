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
}
