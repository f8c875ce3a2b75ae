package dev.tessera.worker.checkpoint;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * One tensor of a safetensors file: its header entry and its bytes, a slice of the mapped file (never a heap copy).
 * Data is little-endian and row-major.
 *
 * @param file where the tensor lives, for error messages
 */
public record Tensor(String name, DType dtype, long[] shape, MemorySegment data, Path file) {

    static final ValueLayout.OfShort SHORT_LE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfInt INT_LE = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfFloat FLOAT_LE = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfLong LONG_LE = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfDouble DOUBLE_LE = ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    public long numel() {
        long n = 1;
        for (long d : shape) n *= d;
        return n;
    }

    public int rank() { return shape.length; }

    public int dim(int i) { return Math.toIntExact(shape[i]); }

    /** Element {@code i} (flat, row-major) of a floating-point tensor, as a float. */
    public float getFloat(long i) {
        return switch (dtype) {
            case BF16 -> Float.intBitsToFloat((data.get(SHORT_LE, 2 * i) & 0xFFFF) << 16);
            case F16 -> Float.float16ToFloat(data.get(SHORT_LE, 2 * i));
            case F32 -> data.get(FLOAT_LE, 4 * i);
            case F64 -> (float) data.get(DOUBLE_LE, 8 * i);
            default -> throw new IllegalStateException(name + " is " + dtype + ", not a floating-point tensor");
        };
    }

    /** Element {@code i} (flat, row-major) of an integer tensor. */
    public long getLong(long i) {
        return switch (dtype) {
            case U8, BOOL -> data.get(ValueLayout.JAVA_BYTE, i) & 0xFF;
            case I8 -> data.get(ValueLayout.JAVA_BYTE, i);
            case I16 -> data.get(SHORT_LE, 2 * i);
            case U16 -> data.get(SHORT_LE, 2 * i) & 0xFFFF;
            case I32 -> data.get(INT_LE, 4 * i);
            case U32 -> data.get(INT_LE, 4 * i) & 0xFFFFFFFFL;
            case I64, U64 -> data.get(LONG_LE, 8 * i);
            default -> throw new IllegalStateException(name + " is " + dtype + ", not an integer tensor");
        };
    }

    /** The whole tensor as floats on the heap: for small tensors (norm gains, biases, golden outputs). */
    public float[] toFloats() {
        float[] out = new float[Math.toIntExact(numel())];
        for (int i = 0; i < out.length; i++) out[i] = getFloat(i);
        return out;
    }

    /** The whole tensor as ints on the heap. */
    public int[] toInts() {
        int[] out = new int[Math.toIntExact(numel())];
        for (int i = 0; i < out.length; i++) out[i] = Math.toIntExact(getLong(i));
        return out;
    }

    @Override
    public String toString() {
        return name + " " + dtype + Arrays.toString(shape) + " in " + file.getFileName();
    }
}
