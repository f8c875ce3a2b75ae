package dev.tessera.worker.backend;

import dev.tessera.worker.checkpoint.DType;
import dev.tessera.worker.checkpoint.Tensor;
import java.lang.foreign.MemorySegment;

/**
 * What the two CPU backends share: weights stay in the mapped checkpoint (bf16 and MXFP4 bytes read in place),
 * activations and the KV cache are float32 arrays on the heap.
 */
public abstract class HostBackend implements Backend {

    /** A bf16 matrix {@code [rows, cols]} read in place from the mapped file. */
    public record HostMatrix(MemorySegment data, int rows, int cols) implements Matrix {}

    /** A bf16 vector, widened once to float32 (vectors are small). */
    public record HostVec(float[] values) implements Vec {
        public int size() { return values.length; }
    }

    /**
     * MXFP4 experts in place: blocks {@code [E, rows, cols/32, 16]} (two E2M1 codes a byte, low nibble first),
     * scales {@code [E, rows, cols/32]} (E8M0), and float32 biases {@code [E, rows]}.
     */
    public record HostExperts(MemorySegment gateUpBlocks, MemorySegment gateUpScales, float[] gateUpBias,
                              MemorySegment downBlocks, MemorySegment downScales, float[] downBias,
                              int count, int hidden, int intermediate) implements Experts {}

    /** A float32 matrix {@code [rows, cols]}, row-major. */
    public record HostActivations(float[] data, int rows, int cols) implements Activations {
        public HostActivations {
            if (data.length != rows * cols)
                throw new IllegalArgumentException("data holds " + data.length + " floats, not " + rows + "x" + cols);
        }
    }

    /**
     * K and V for each layer, {@code [blocks · blockSize, kvHeads · headDim]} float32: slot {@code s} holds the key
     * (value) row of one token at {@code s · kvHeads · headDim}.
     */
    public record HostKvCache(float[][] keys, float[][] values, int layers, int blocks, int blockSize, int kvHeads,
                              int headDim) implements KvCache {
        public int rowWidth() { return kvHeads * headDim; }
    }

    @Override
    public Matrix matrix(Tensor t) {
        requireDType(t, DType.BF16, 2);
        return new HostMatrix(resident(t.data()), t.dim(0), t.dim(1));
    }

    @Override
    public Vec vec(Tensor t) {
        requireDType(t, DType.BF16, 1);
        return new HostVec(t.toFloats());
    }

    @Override
    public Experts experts(Tensor gateUpBlocks, Tensor gateUpScales, Tensor gateUpBias,
                           Tensor downBlocks, Tensor downScales, Tensor downBias) {
        requireDType(gateUpBlocks, DType.U8, 4);
        requireDType(gateUpScales, DType.U8, 3);
        requireDType(downBlocks, DType.U8, 4);
        requireDType(downScales, DType.U8, 3);
        requireDType(gateUpBias, DType.BF16, 2);
        requireDType(downBias, DType.BF16, 2);
        int count = gateUpBlocks.dim(0);
        int intermediate = gateUpBlocks.dim(1) / 2;
        int hidden = gateUpBlocks.dim(2) * 32;
        return new HostExperts(resident(gateUpBlocks.data()), resident(gateUpScales.data()), gateUpBias.toFloats(),
                resident(downBlocks.data()), resident(downScales.data()), downBias.toFloats(), count, hidden, intermediate);
    }

    /**
     * Touches every page of a mapped weight before it serves. NOTE: without this the first requests pay page faults
     * (and, for rows touched rarely such as embedding rows, keep paying them), which shows up as latency spikes.
     */
    private static MemorySegment resident(MemorySegment weights) {
        if (weights.isMapped()) weights.load();
        return weights;
    }

    private static void requireDType(Tensor t, DType dtype, int rank) {
        if (t.dtype() != dtype || t.rank() != rank)
            throw new IllegalArgumentException(t + ": expected a rank-" + rank + " " + dtype + " tensor");
    }

    @Override
    public Activations allocate(int rows, int cols) {
        return new HostActivations(new float[rows * cols], rows, cols);
    }

    @Override
    public Activations upload(float[] data, int rows, int cols) {
        return new HostActivations(data.clone(), rows, cols);
    }

    @Override
    public float[] download(Activations a) {
        return ((HostActivations) a).data().clone();
    }

    @Override
    public KvCache allocateKv(int layers, int blocks, int blockSize, int kvHeads, int headDim) {
        long floats = (long) blocks * blockSize * kvHeads * headDim;
        if (floats > Integer.MAX_VALUE - 8)
            throw new IllegalArgumentException("KV cache of " + blocks + " blocks x " + blockSize
                    + " tokens is too large for one layer array; use fewer blocks");
        float[][] k = new float[layers][(int) floats];
        float[][] v = new float[layers][(int) floats];
        return new HostKvCache(k, v, layers, blocks, blockSize, kvHeads, headDim);
    }

    /** Both CPU backends store K and V rows the same way: a plain copy to each token's slot. */
    @Override
    public void writeKv(Activations k, Activations v, KvCache cache, int layer, int[] slots) {
        HostKvCache c = (HostKvCache) cache;
        int w = c.rowWidth();
        for (int t = 0; t < slots.length; t++) {
            System.arraycopy(data(k), t * w, c.keys()[layer], slots[t] * w, w);
            System.arraycopy(data(v), t * w, c.values()[layer], slots[t] * w, w);
        }
    }

    @Override
    public void gather(Activations x, int[] rows, Activations out) {
        float[] in = data(x), o = data(out);
        for (int i = 0; i < rows.length; i++) System.arraycopy(in, rows[i] * x.cols(), o, i * x.cols(), x.cols());
    }

    protected static float[] data(Activations a) { return ((HostActivations) a).data(); }

    @Override
    public void close() {}
}
