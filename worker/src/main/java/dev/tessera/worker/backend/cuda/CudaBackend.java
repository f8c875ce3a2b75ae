package dev.tessera.worker.backend.cuda;

import dev.tessera.worker.backend.AttentionBatch;
import dev.tessera.worker.backend.Backend;
import dev.tessera.worker.backend.WeightGenerator;
import dev.tessera.worker.checkpoint.DType;
import dev.tessera.worker.checkpoint.Tensor;
import java.lang.foreign.MemorySegment;

/**
 * The backend on one CUDA device: weights, activations and the KV cache live in device memory, and every op is one
 * kernel of the CUDA library queued on the context's stream. Only {@link #download} (and {@link #argmax}) wait.
 *
 * <p>Layouts: matrices are bf16 as the checkpoint stores them (copied from the mapped file, which is native memory, so
 * it is read in place); vectors (norm gains, biases, sinks) are widened to float32 on the host; MXFP4 experts keep
 * their blocks and scales as bytes, their biases widened to float32; activations are float32; the KV cache holds, for
 * each layer, K and V as {@code [blocks · blockSize, kvHeads · headDim]} float32.
 *
 * <p>The small index arrays of an op (token ids, positions, slots, block tables) are uploaded per call into one
 * scratch buffer that only grows, and attention and MoE share one workspace, sized by the library. Released
 * activations go back to a cache by exact size ({@link DeviceMemory}), so steady steps allocate nothing.
 *
 * <p>Host checks: the kernels do not check indices, so token ids, cache slots, block tables and gathered rows are
 * checked here before upload (an index out of range would corrupt device memory, not throw).
 *
 * <p>Thread safety: as {@link Backend}, one driver thread at a time.
 */
public final class CudaBackend implements Backend, WeightGenerator {

    /** A bf16 matrix {@code [rows, cols]} in device memory. */
    public record DeviceMatrix(long address, int rows, int cols) implements Matrix {}

    /** A float32 vector in device memory (widened from bf16 when uploaded). */
    public record DeviceVec(long address, int size) implements Vec {}

    /** MXFP4 experts in device memory: blocks and scales as stored, biases float32 {@code [E, rows]}. */
    public record DeviceExperts(long gateUpBlocks, long gateUpScales, long gateUpBias, long downBlocks, long downScales,
                                long downBias, int count, int hidden, int intermediate) implements Experts {}

    /** A float32 matrix {@code [rows, cols]} in device memory, row-major. */
    public record DeviceActivations(long address, int rows, int cols) implements Activations {
        long bytes() { return 4L * rows * cols; }
    }

    /** For each layer, K and V {@code [blocks · blockSize, kvHeads · headDim]} float32 in device memory. */
    public record DeviceKvCache(long[] keys, long[] values, int layers, int blocks, int blockSize, int kvHeads,
                                int headDim) implements KvCache {
        int slots() { return blocks * blockSize; }
        int rowWidth() { return kvHeads * headDim; }
    }

    private final Cuda cuda;
    private final double memoryShare;
    private final Cuda.Context ctx;
    private final DeviceMemory memory;
    private final SmallUploads uploads;
    private final StepIndices indices;
    private final DeviceBuffer workspace;
    private final String name;
    private boolean closed;

    /** The share of a device's memory a backend takes when it is the device's only user. */
    public static final double DEFAULT_MEMORY_SHARE = 0.9;

    /** The oldest GPU generation the library is built for: Hopper (sm_90). */
    public static final int MIN_COMPUTE_CAPABILITY = 90;

    /** A backend on the default library's first device. */
    public static CudaBackend open() { return new CudaBackend(Cuda.load(), 0); }

    /** A backend on {@code device} of {@code cuda} that may use {@link #DEFAULT_MEMORY_SHARE} of it. */
    public CudaBackend(Cuda cuda, int device) { this(cuda, device, DEFAULT_MEMORY_SHARE); }

    /**
     * A backend on {@code device} of {@code cuda} that may use {@code memoryShare} of the device's memory for its
     * weights, KV pool and step buffers (processes sharing a GPU each take their share).
     */
    public CudaBackend(Cuda cuda, int device, double memoryShare) {
        if (!(memoryShare > 0 && memoryShare <= 1))
            throw new IllegalArgumentException("a GPU memory share is in (0, 1], got " + memoryShare);
        this.memoryShare = memoryShare;
        this.cuda = cuda;
        this.ctx = cuda.createContext(device);
        try {
            this.name = cuda.isHostBuild() ? "cuda-host (kernels emulated on the CPU, for tests)"
                    : "cuda (" + ctx.deviceName() + ")";
            // NOTE: the library carries sm_90a code and compute_90 PTX: an older GPU would fail at its first kernel,
            // after minutes of loading weights, so say so now.
            int cc = cuda.isHostBuild() ? MIN_COMPUTE_CAPABILITY : ctx.computeCapability();
            if (cc < MIN_COMPUTE_CAPABILITY)
                throw new CudaException("the CUDA backend needs a GPU of compute capability 9.0 or newer (Hopper); "
                        + ctx.deviceName() + " is " + cc / 10 + "." + cc % 10);
        } catch (RuntimeException e) {
            ctx.close();
            throw e;
        }
        this.memory = new DeviceMemory(ctx);
        this.uploads = new SmallUploads(ctx, memory);
        this.indices = new StepIndices(ctx, memory);
        this.workspace = new DeviceBuffer(memory);
    }

    @Override
    public String name() { return name; }

    /** The share of the device's memory this backend may use. */
    public double memoryShare() { return memoryShare; }

    /** Free and total memory of the device now. */
    public Cuda.MemoryInfo memoryInfo() { return ctx.memoryInfo(); }

    /** Device bytes held by live weights, KV caches, activations and scratch (not counting the release cache). */
    long liveBytes() { return memory.liveBytes(); }

    /** Device bytes of released activations kept for reuse. */
    long cachedBytes() { return memory.cachedBytes(); }

    /** Device bytes of the upload scratch and the op workspace (part of {@link #liveBytes()}). */
    long scratchBytes() { return uploads.capacity() + workspace.capacity() + indices.bytes(); }

    // ---- weights --------------------------------------------------------------------------------------------------

    @Override
    public Matrix matrix(Tensor t) {
        require(t, DType.BF16, 2);
        return new DeviceMatrix(copy(t), t.dim(0), t.dim(1));
    }

    @Override
    public Vec vec(Tensor t) {
        require(t, DType.BF16, 1);
        return new DeviceVec(floats(t), t.dim(0));
    }

    @Override
    public Experts experts(Tensor gateUpBlocks, Tensor gateUpScales, Tensor gateUpBias,
                           Tensor downBlocks, Tensor downScales, Tensor downBias) {
        require(gateUpBlocks, DType.U8, 4);
        require(gateUpScales, DType.U8, 3);
        require(downBlocks, DType.U8, 4);
        require(downScales, DType.U8, 3);
        require(gateUpBias, DType.BF16, 2);
        require(downBias, DType.BF16, 2);
        int count = gateUpBlocks.dim(0), intermediate = gateUpBlocks.dim(1) / 2, hidden = gateUpBlocks.dim(2) * 32;
        return new DeviceExperts(copy(gateUpBlocks), copy(gateUpScales), floats(gateUpBias),
                copy(downBlocks), copy(downScales), floats(downBias), count, hidden, intermediate);
    }

    // ---- weights made on the device (benchmarks of full-size shapes) ----------------------------------------------

    @Override
    public Matrix uniformMatrix(long seed, int rows, int cols, float scale) {
        long n = (long) rows * cols;
        long d = memory.take(2 * n);
        ctx.bf16FillUniform(d, n, seed, scale);
        return new DeviceMatrix(d, rows, cols);
    }

    @Override
    public Experts randomExperts(long seed, int count, int intermediate, int hidden, int gateUpScaleBase,
                                 int downScaleBase, Tensor gateUpBias, Tensor downBias) {
        if (hidden % 32 != 0 || intermediate % 32 != 0)
            throw new IllegalArgumentException("MXFP4 experts need hidden and intermediate widths that are multiples of 32, got "
                    + hidden + " and " + intermediate);
        long gateUpGroups = (long) count * 2 * intermediate * (hidden / 32);
        long downGroups = (long) count * hidden * (intermediate / 32);
        long gateUpBlocks = randomBytes(seed, 16 * gateUpGroups, 0, 255);
        long gateUpScales = randomScales(seed + 1, gateUpGroups, gateUpScaleBase);
        long downBlocks = randomBytes(seed + 2, 16 * downGroups, 0, 255);
        long downScales = randomScales(seed + 3, downGroups, downScaleBase);
        require(gateUpBias, DType.BF16, 2);
        require(downBias, DType.BF16, 2);
        return new DeviceExperts(gateUpBlocks, gateUpScales, floats(gateUpBias), downBlocks, downScales,
                floats(downBias), count, hidden, intermediate);
    }

    private long randomBytes(long seed, long n, int lo, int hi) {
        long d = memory.take(n);
        ctx.u8FillUniform(d, n, seed, lo, hi);
        return d;
    }

    /** E8M0 scales uniform in base − 1 .. base + 1, kept in 1..254 (255 is the format's NaN). */
    private long randomScales(long seed, long n, int base) {
        return randomBytes(seed, n, Math.max(1, base - 1), Math.min(254, base + 1));
    }

    /**
     * The device's copy bandwidth: {@code bytes} copied device to device, best of {@code passes}, counting the bytes
     * read and the bytes written (as a weight stream's reads are counted against it).
     */
    public double copyBandwidth(long bytes, int passes) {
        long half = Math.max(1, bytes / 2);
        long src = memory.take(half), dst = memory.take(half);
        try {
            ctx.zero(src, half);
            ctx.copyOnDevice(dst, src, half);  // first touch
            ctx.synchronize();
            double best = 0;
            for (int p = 0; p < passes; p++) {
                long start = System.nanoTime();
                ctx.copyOnDevice(dst, src, half);
                ctx.synchronize();
                best = Math.max(best, 2.0 * half / ((System.nanoTime() - start) / 1e9));
            }
            return best;
        } finally {
            memory.release(src);
            memory.release(dst);
        }
    }

    private static void require(Tensor t, DType dtype, int rank) {
        if (t.dtype() != dtype || t.rank() != rank)
            throw new IllegalArgumentException(t + ": expected a rank-" + rank + " " + dtype + " tensor");
    }

    /** The tensor's bytes as stored, in new device memory. */
    private long copy(Tensor t) {
        long bytes = t.numel() * t.dtype().bytes();
        MemorySegment data = t.data();
        if (data.byteSize() < bytes) throw new IllegalArgumentException(t + ": holds " + data.byteSize() + " bytes, not " + bytes);
        long d = memory.take(bytes);
        ctx.copyToDevice(d, data, bytes);
        return d;
    }

    /** The tensor widened to float32, in new device memory. */
    private long floats(Tensor t) {
        float[] values = t.toFloats();
        long d = memory.take(4L * values.length);
        ctx.copyToDevice(d, values);
        return d;
    }

    // ---- activations and the cache --------------------------------------------------------------------------------

    /**
     * A zeroed activation matrix, from the release cache when one of the same size is there. NOTE: zeroed as the host
     * backends' fresh arrays are, so that no op's result can depend on a previous owner of the buffer.
     */
    @Override
    public Activations allocate(int rows, int cols) {
        DeviceActivations a = fresh(rows, cols);
        ctx.zero(a.address(), a.bytes());
        return a;
    }

    private DeviceActivations fresh(int rows, int cols) {
        if (rows < 0 || cols < 0) throw new IllegalArgumentException("activations of " + rows + "x" + cols);
        return new DeviceActivations(memory.takeReusable(4L * rows * cols), rows, cols);
    }

    @Override
    public Activations upload(float[] data, int rows, int cols) {
        if (data.length != (long) rows * cols)
            throw new IllegalArgumentException("data holds " + data.length + " floats, not " + rows + "x" + cols);
        DeviceActivations a = fresh(rows, cols);
        ctx.copyToDevice(a.address(), data);
        return a;
    }

    @Override
    public float[] download(Activations a) {
        DeviceActivations d = act(a);
        float[] out = new float[Math.toIntExact((long) d.rows() * d.cols())];
        ctx.copyToHost(out, d.address());
        return out;
    }

    /** Returns {@code a}'s device memory to the release cache; {@code a} must not be used afterwards. */
    @Override
    public void release(Activations a) {
        memory.release(act(a).address());
    }

    @Override
    public KvCache allocateKv(int layers, int blocks, int blockSize, int kvHeads, int headDim) {
        long bytes = 4L * blocks * blockSize * kvHeads * headDim;
        if ((long) blocks * blockSize > Integer.MAX_VALUE)
            throw new IllegalArgumentException("KV cache of " + blocks + " blocks x " + blockSize + " tokens has more "
                    + "slots than an int indexes; use fewer blocks");
        long[] k = new long[layers], v = new long[layers];
        for (int l = 0; l < layers; l++) {
            k[l] = memory.take(bytes);
            v[l] = memory.take(bytes);
            ctx.zero(k[l], bytes);
            ctx.zero(v[l], bytes);
        }
        return new DeviceKvCache(k, v, layers, blocks, blockSize, kvHeads, headDim);
    }

    /** Bytes one KV block takes over {@code layers} layers: K and V, {@code blockSize} rows of float32 each. */
    public static long kvBytesPerBlock(int layers, int blockSize, int kvHeads, int headDim) {
        return 2L * layers * blockSize * kvHeads * headDim * Float.BYTES;
    }

    /**
     * How many KV blocks fit in the device memory free now, leaving {@code fractionLeftFree} of the device's total
     * memory unused. Call it after the weights are loaded and before the cache is allocated.
     *
     * <p>NOTE: the fraction left free holds what is allocated after the cache: activations and the release cache
     * (which grow with the batch: logits alone are {@code tokens × vocab × 4} bytes), the op workspaces, and the
     * memory other processes on the device take. 0.1 suits a dedicated device serving moderate batches.
     *
     * @return blocks, at least 0
     */
    public static int kvBlocksThatFit(Cuda.MemoryInfo memory, long bytesPerBlock, double fractionLeftFree) {
        if (bytesPerBlock <= 0) throw new IllegalArgumentException("bytes per block must be positive, got " + bytesPerBlock);
        if (!(fractionLeftFree >= 0 && fractionLeftFree < 1))
            throw new IllegalArgumentException("the fraction left free must be in [0, 1), got " + fractionLeftFree);
        long usable = memory.freeBytes() - (long) Math.ceil(fractionLeftFree * memory.totalBytes());
        return (int) Math.min(Integer.MAX_VALUE, Math.max(0, usable / bytesPerBlock));
    }

    /** {@link #kvBlocksThatFit(Cuda.MemoryInfo, long, double)} on this backend's device now. */
    public int kvBlocksThatFit(long bytesPerBlock, double fractionLeftFree) {
        return kvBlocksThatFit(memoryInfo(), bytesPerBlock, fractionLeftFree);
    }

    // ---- ops ------------------------------------------------------------------------------------------------------

    @Override
    public void embed(int[] tokens, Matrix table, Activations out) {
        DeviceMatrix m = (DeviceMatrix) table;
        DeviceActivations o = act(out);
        shape("embed", o, tokens.length, m.cols());
        for (int token : tokens)
            if (token < 0 || token >= m.rows())
                throw new IllegalArgumentException("token id " + token + " is outside the vocabulary 0.." + (m.rows() - 1));
        long[] d = uploads.put(MemorySegment.ofArray(tokens));
        ctx.embedding(d[0], tokens.length, m.address(), m.rows(), m.cols(), o.address());
    }

    @Override
    public void rmsNorm(Activations x, Vec gain, float eps, Activations out) {
        DeviceActivations in = act(x), o = act(out);
        DeviceVec g = (DeviceVec) gain;
        shape("rmsNorm gain", in, in.rows(), g.size());
        shape("rmsNorm out", o, in.rows(), in.cols());
        ctx.rmsNorm(in.address(), g.address(), in.rows(), in.cols(), eps, o.address());
    }

    @Override
    public void linear(Activations x, Matrix w, Vec bias, Activations out) {
        DeviceActivations in = act(x), o = act(out);
        DeviceMatrix m = (DeviceMatrix) w;
        shape("linear x", in, in.rows(), m.cols());
        shape("linear out", o, in.rows(), m.rows());
        if (bias != null && bias.size() != m.rows())
            throw new IllegalArgumentException("linear: bias of " + bias.size() + " for " + m.rows() + " outputs");
        ctx.linear(in.address(), in.rows(), m.cols(), m.address(), m.rows(), bias == null ? 0 : ((DeviceVec) bias).address(),
                o.address());
    }

    @Override
    public void rope(Activations x, int headDim, int[] positions, float[] invFreq, float concentration) {
        DeviceActivations a = act(x);
        if (positions.length != a.rows() || invFreq.length != headDim / 2 || headDim % 2 != 0 || a.cols() % headDim != 0)
            throw new IllegalArgumentException("rope: x " + a.rows() + "x" + a.cols() + ", head dim " + headDim + ", "
                    + positions.length + " positions, " + invFreq.length + " frequencies");
        ctx.rope(a.address(), a.rows(), a.cols(), headDim, indices.ints(positions), indices.floats(invFreq), concentration);
    }

    /** The three projections and the rotary embedding of q and k in one kernel (tc_f32_bf16w_qkv_rope). */
    @Override
    public void qkvRope(Activations x, Qkv w, int headDim, int[] positions, float[] invFreq, float concentration,
                        Activations q, Activations k, Activations v) {
        DeviceActivations in = act(x), dq = act(q), dk = act(k), dv = act(v);
        DeviceMatrix wq = (DeviceMatrix) w.q(), wk = (DeviceMatrix) w.k(), wv = (DeviceMatrix) w.v();
        for (DeviceMatrix m : new DeviceMatrix[] {wq, wk, wv}) shape("qkv x", in, in.rows(), m.cols());
        shape("qkv q", dq, in.rows(), wq.rows());
        shape("qkv k", dk, in.rows(), wk.rows());
        shape("qkv v", dv, in.rows(), wv.rows());
        if (positions.length != in.rows() || invFreq.length != headDim / 2 || headDim % 2 != 0 || wq.rows() % headDim != 0
                || wk.rows() % headDim != 0)
            throw new IllegalArgumentException("qkvRope: " + in.rows() + " tokens, " + positions.length + " positions, head dim "
                    + headDim + ", " + invFreq.length + " frequencies, q " + wq.rows() + " and k " + wk.rows() + " rows");
        ctx.qkvRope(in.address(), in.rows(), in.cols(), wq.address(), bias(w.qBias(), wq), wq.rows(), wk.address(),
                bias(w.kBias(), wk), wk.rows(), wv.address(), bias(w.vBias(), wv), wv.rows(), headDim,
                indices.ints(positions), indices.floats(invFreq), concentration, dq.address(), dk.address(), dv.address());
    }

    private static long bias(Vec bias, DeviceMatrix m) {
        if (bias == null) return 0;
        if (bias.size() != m.rows())
            throw new IllegalArgumentException("a bias of " + bias.size() + " for " + m.rows() + " outputs");
        return ((DeviceVec) bias).address();
    }

    @Override
    public void writeKv(Activations k, Activations v, KvCache cache, int layer, int[] slots) {
        DeviceKvCache c = (DeviceKvCache) cache;
        DeviceActivations dk = act(k), dv = act(v);
        shape("writeKv k", dk, slots.length, c.rowWidth());
        shape("writeKv v", dv, slots.length, c.rowWidth());
        for (int slot : slots)
            if (slot < 0 || slot >= c.slots())
                throw new IllegalArgumentException("KV slot " + slot + " is outside the cache's 0.." + (c.slots() - 1));
        ctx.kvWrite(dk.address(), dv.address(), slots.length, c.rowWidth(), indices.ints(slots), c.keys()[layer],
                c.values()[layer]);
    }

    @Override
    public void attention(Activations q, KvCache cache, int layer, AttentionBatch batch, Vec sinks, int window,
                          float scale, Activations out) {
        DeviceKvCache c = (DeviceKvCache) cache;
        DeviceActivations dq = act(q), o = act(out);
        int tokens = batch.tokens(), hd = c.headDim(), heads = dq.cols() / hd;
        shape("attention q", dq, tokens, heads * hd);
        shape("attention out", o, tokens, dq.cols());
        if (sinks.size() != heads || heads % c.kvHeads() != 0 || batch.blockSize() != c.blockSize())
            throw new IllegalArgumentException("attention: " + heads + " heads, " + sinks.size() + " sinks, " + c.kvHeads()
                    + " KV heads, block size " + batch.blockSize() + " over a cache of blocks of " + c.blockSize());
        StepIndices.Batch d = indices.batch(batch, b -> check(b, c));
        long bytes = cuda.attentionWorkspaceBytes(tokens, heads, d.maxPosition() + 1);
        ctx.pagedAttention(dq.address(), tokens, heads, c.kvHeads(), hd, c.keys()[layer], c.values()[layer], d.positions(),
                d.sequenceOf(), d.tableOffsets(), d.blockTables(), c.blockSize(), ((DeviceVec) sinks).address(), window,
                scale, d.maxPosition(), workspace.atLeast(bytes), o.address());
    }

    /** Checks a batch's block tables and positions against the cache (the kernel reads them unchecked); its largest position. */
    private static int check(AttentionBatch batch, DeviceKvCache c) {
        int[][] tables = batch.blockTables();
        for (int s = 0; s < tables.length; s++)
            for (int block : tables[s])
                if (block < 0 || block >= c.blocks())
                    throw new IllegalArgumentException("KV block " + block + " of sequence " + s + " is outside the cache's 0.."
                            + (c.blocks() - 1));
        int maxPosition = 0;
        for (int t = 0; t < batch.tokens(); t++) {
            int s = batch.sequenceOf()[t], p = batch.positions()[t];
            if (s < 0 || s >= tables.length || p < 0 || p / c.blockSize() >= tables[s].length)
                throw new IllegalArgumentException("token " + t + " at position " + p + " of sequence " + s
                        + " is not covered by the batch's block tables");
            maxPosition = Math.max(maxPosition, p);
        }
        return maxPosition;
    }

    @Override
    public void moe(Activations x, Moe moe, Activations out) {
        DeviceActivations in = act(x), o = act(out);
        DeviceExperts ex = (DeviceExperts) moe.experts();
        DeviceMatrix router = (DeviceMatrix) moe.router();
        int tokens = in.rows(), k = moe.expertsPerToken();
        shape("moe x", in, tokens, ex.hidden());
        shape("moe out", o, tokens, ex.hidden());
        if (router.rows() != ex.count() || router.cols() != ex.hidden() || k < 1 || k > ex.count())
            throw new IllegalArgumentException("moe: router " + router.rows() + "x" + router.cols() + " for " + ex.count()
                    + " experts of hidden size " + ex.hidden() + ", top " + k);
        long bytes = cuda.moeWorkspaceBytes(tokens, ex.count(), k, ex.intermediate(), ex.hidden());
        ctx.moe(in.address(), tokens, ex.hidden(), ex.intermediate(), ex.count(), k, router.address(),
                ((DeviceVec) moe.routerBias()).address(), ex.gateUpBlocks(), ex.gateUpScales(), ex.gateUpBias(),
                ex.downBlocks(), ex.downScales(), ex.downBias(), moe.swigluLimit(), moe.swigluAlpha(),
                workspace.atLeast(bytes), o.address());
    }

    @Override
    public void gather(Activations x, int[] rows, Activations out) {
        DeviceActivations in = act(x), o = act(out);
        shape("gather out", o, rows.length, in.cols());
        for (int r : rows)
            if (r < 0 || r >= in.rows())
                throw new IllegalArgumentException("gather: row " + r + " is outside 0.." + (in.rows() - 1));
        long[] d = uploads.put(MemorySegment.ofArray(rows));
        ctx.gatherRows(in.address(), in.cols(), d[0], rows.length, o.address());
    }

    @Override
    public void add(Activations x, Activations y) {
        DeviceActivations a = act(x), b = act(y);
        shape("add", b, a.rows(), a.cols());
        ctx.add(a.address(), b.address(), (long) a.rows() * a.cols());
    }

    /** Greedy choices picked on the device: only the token ids and their log-probabilities come back. */
    @Override
    public Greedy greedy(Activations logits) {
        DeviceActivations a = act(logits);
        long d = memory.takeReusable(8L * a.rows());
        try {
            ctx.greedyRows(a.address(), a.rows(), a.cols(), d, d + 4L * a.rows());
            int[] tokens = new int[a.rows()];
            float[] logprobs = new float[a.rows()];
            ctx.copyToHost(tokens, d);
            ctx.copyToHost(logprobs, d + 4L * a.rows());
            return new Greedy(tokens, logprobs);
        } finally {
            memory.release(d);
        }
    }

    /** The index of the largest value of each row (the lowest among equals): greedy sampling on the device. */
    public int[] argmax(Activations x) {
        DeviceActivations a = act(x);
        long d = memory.take(4L * a.rows());
        try {
            ctx.argmaxRows(a.address(), a.rows(), a.cols(), d);
            int[] out = new int[a.rows()];
            ctx.copyToHost(out, d);
            return out;
        } finally {
            memory.release(d);
        }
    }

    private DeviceActivations act(Activations a) {
        if (closed) throw new IllegalStateException("the CUDA backend is closed");
        return (DeviceActivations) a;
    }

    private static void shape(String what, DeviceActivations a, int rows, int cols) {
        if (a.rows() != rows || a.cols() != cols)
            throw new IllegalArgumentException(what + ": " + a.rows() + "x" + a.cols() + ", expected " + rows + "x" + cols);
    }

    /** Frees every device buffer of this backend (weights, caches, activations, scratch) and the context. Idempotent. */
    @Override
    public void close() {
        if (closed) return;
        closed = true;
        try {
            memory.close();
        } finally {
            ctx.close();
        }
    }
}
