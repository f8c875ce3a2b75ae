package dev.tessera.worker.backend.cuda;

import dev.tessera.worker.backend.BackendLostException;
import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The one binding of Tessera's CUDA library ({@code src/main/cuda/tessera_cuda.h}) through Java's FFM: one
 * {@link MethodHandle} per C function, every status checked with the function's name.
 *
 * <p>The default library is found, in order, at the path of the system property {@value #LIBRARY_PROPERTY}, at the
 * path of the environment variable {@value #LIBRARY_ENV}, or as the resource {@value #LIBRARY_RESOURCE} packaged with
 * Tessera (extracted once to a temporary file). {@link #availability()} says in one sentence why it cannot be used;
 * {@link #open(Path)} binds a given library (tests bind the host build, whose kernels run on the CPU).
 *
 * <p>Device pointers are plain {@code long} addresses; host data travels as Java arrays or {@link MemorySegment}s.
 * A {@link Context} (one device, one stream) carries every operation; like the C context it is driven by one thread
 * at a time.
 *
 * <p>NOTE: a library stays loaded until the JVM exits (global arena): contexts come and go, the code does not.
 */
public final class Cuda {

    /** The ABI version this binding speaks; a library reporting another one is refused. */
    public static final int ABI_VERSION = 2;
    public static final String LIBRARY_PROPERTY = "tessera.cuda.library";
    public static final String LIBRARY_ENV = "TESSERA_CUDA_LIBRARY";
    public static final String LIBRARY_RESOURCE = "/native/linux-x86_64/libtessera_cuda.so";

    /** {@code tc_status}, in the header's order. */
    public enum Status {
        OK, INVALID_ARGUMENT, NO_DEVICE, OUT_OF_MEMORY, CUDA_ERROR, INTERNAL, DEVICE_LOST;

        static Status of(int code) { return code >= 0 && code < values().length ? values()[code] : null; }
    }

    /**
     * Whether a CUDA backend can run, and in one sentence why not (or what it runs on).
     *
     * @param reason never null: for an unavailable library, one sentence a user understands
     */
    public record Availability(boolean available, String reason) {
        public Availability {
            if (reason == null || reason.isBlank()) throw new IllegalArgumentException("an availability needs a reason");
        }
    }

    /** Free and total device memory in bytes, as the driver reports them. */
    public record MemoryInfo(long freeBytes, long totalBytes) {}

    private static final Linker LINKER = Linker.nativeLinker();
    private static final Map<Path, Cuda> OPENED = new ConcurrentHashMap<>();
    private static final long STAGING_CHUNK = 8L << 20;
    // NOTE: the ops may be missing from a library built while its kernels were being written: binding records them,
    // a call to one fails, and availability() refuses the library. The context's own functions are required.

    private final Path path;
    private final SymbolLookup lookup;
    private final List<String> missing = new ArrayList<>();
    private final boolean hostBuild;
    private final MethodHandle statusName, lastError, deviceCount, contextCreate, contextDestroy, deviceName,
            computeCapability, memoryInfo, alloc, free, copyToDevice, copyToHost, copyOnDevice, zero, synchronize,
            bf16Fill, u8Fill, embedding, rmsNorm, linear, rope, kvWrite, attention, attentionWorkspace, moe,
            moeWorkspace, gatherRows, add, argmaxRows, greedyRows, qkvRope;

    private Cuda(Path path, SymbolLookup lookup) {
        this.path = path;
        this.lookup = lookup;
        var A = ADDRESS;
        var I = JAVA_INT;
        var L = JAVA_LONG;
        var F = JAVA_FLOAT;
        int version;
        try {
            version = (int) bind("tc_abi_version", FunctionDescriptor.of(I), true).invokeExact();
        } catch (Throwable t) {
            throw rethrow(t);
        }
        if (version != ABI_VERSION)
            throw new CudaException("the CUDA library " + path + " has ABI version " + version + " but this Tessera needs "
                    + ABI_VERSION + ", so it belongs to another release");
        try {
            hostBuild = (int) bind("tc_is_host_build", FunctionDescriptor.of(I), true).invokeExact() == 1;
        } catch (Throwable t) {
            throw rethrow(t);
        }
        statusName = bind("tc_status_name", FunctionDescriptor.of(A, I), true);
        lastError = bind("tc_last_error", FunctionDescriptor.of(A), true);
        deviceCount = bind("tc_device_count", FunctionDescriptor.of(I, A), true);
        contextCreate = bind("tc_context_create", FunctionDescriptor.of(I, I, A), true);
        contextDestroy = bind("tc_context_destroy", FunctionDescriptor.ofVoid(A), true);
        deviceName = bind("tc_device_name", FunctionDescriptor.of(I, A, A, I), true);
        computeCapability = bind("tc_compute_capability", FunctionDescriptor.of(I, A, A), true);
        memoryInfo = bind("tc_memory_info", FunctionDescriptor.of(I, A, A, A), true);
        alloc = bind("tc_alloc", FunctionDescriptor.of(I, A, L, A), true);
        free = bind("tc_free", FunctionDescriptor.of(I, A, A), true);
        copyToDevice = bind("tc_copy_to_device", FunctionDescriptor.of(I, A, A, A, L), true);
        copyToHost = bind("tc_copy_to_host", FunctionDescriptor.of(I, A, A, A, L), true);
        copyOnDevice = bind("tc_copy_on_device", FunctionDescriptor.of(I, A, A, A, L), true);
        zero = bind("tc_zero", FunctionDescriptor.of(I, A, A, L), true);
        synchronize = bind("tc_synchronize", FunctionDescriptor.of(I, A), true);
        bf16Fill = bind("tc_bf16_fill_uniform", FunctionDescriptor.of(I, A, A, L, L, F), false);
        u8Fill = bind("tc_u8_fill_uniform", FunctionDescriptor.of(I, A, A, L, L, I, I), false);
        embedding = bind("tc_f32_bf16w_embedding", FunctionDescriptor.of(I, A, A, I, A, I, I, A), false);
        rmsNorm = bind("tc_f32_rmsnorm", FunctionDescriptor.of(I, A, A, A, I, I, F, A), false);
        linear = bind("tc_f32_bf16w_linear", FunctionDescriptor.of(I, A, A, I, I, A, I, A, A), false);
        rope = bind("tc_f32_rope", FunctionDescriptor.of(I, A, A, I, I, I, A, A, F), false);
        qkvRope = bind("tc_f32_bf16w_qkv_rope",
                FunctionDescriptor.of(I, A, A, I, I, A, A, I, A, A, I, A, A, I, I, A, A, F, A, A, A), false);
        kvWrite = bind("tc_f32_kv_write", FunctionDescriptor.of(I, A, A, A, I, I, A, A, A), false);
        attention = bind("tc_f32_paged_attention",
                FunctionDescriptor.of(I, A, A, I, I, I, I, A, A, A, A, A, A, I, A, I, F, I, A, A), false);
        attentionWorkspace = bind("tc_attention_workspace_bytes", FunctionDescriptor.of(L, I, I, I), false);
        moe = bind("tc_f32_mxfp4w_moe",
                FunctionDescriptor.of(I, A, A, I, I, I, I, I, A, A, A, A, A, A, A, A, F, F, A, A), false);
        moeWorkspace = bind("tc_moe_workspace_bytes", FunctionDescriptor.of(L, I, I, I, I, I), false);
        gatherRows = bind("tc_f32_gather_rows", FunctionDescriptor.of(I, A, A, I, A, I, A), false);
        add = bind("tc_f32_add", FunctionDescriptor.of(I, A, A, A, L), false);
        argmaxRows = bind("tc_f32_argmax_rows", FunctionDescriptor.of(I, A, A, I, I, A), false);
        greedyRows = bind("tc_f32_greedy_rows", FunctionDescriptor.of(I, A, A, I, I, A, A), false);
    }

    private MethodHandle bind(String name, FunctionDescriptor descriptor, boolean required) {
        var symbol = lookup.find(name);
        if (symbol.isPresent()) return LINKER.downcallHandle(symbol.get(), descriptor);
        if (required) throw new CudaException("the CUDA library " + path + " has no " + name + ", so it is not Tessera's");
        missing.add(name);
        var type = descriptor.toMethodType();
        var fail = MethodHandles.throwException(type.returnType(), CudaException.class)
                .bindTo(new CudaException(name + " is missing from the CUDA library " + path));
        return MethodHandles.dropArguments(fail, 0, type.parameterList());
    }

    // ---- opening a library ----------------------------------------------------------------------------

    /** Whether the default library can run a backend (a device is present); never throws. */
    public static Availability availability() {
        CudaLookup.Found at = CudaLookup.find();
        return at.problem() != null ? new Availability(false, at.problem()) : availability(at.path());
    }

    /** Whether the library at {@code library} can run a backend; never throws. */
    public static Availability availability(Path library) {
        try {
            return open(library).probe();
        } catch (CudaException e) {
            return new Availability(false, e.getMessage());
        }
    }

    /** The default library, with a device to run on. */
    public static Cuda load() {
        CudaLookup.Found at = CudaLookup.find();
        if (at.problem() != null) throw new CudaException(at.problem());
        Cuda cuda = open(at.path());
        Availability a = cuda.probe();
        if (!a.available()) throw new CudaException(a.reason());
        return cuda;
    }

    /**
     * Binds the library at {@code library} (once per path and process) and checks its ABI version. It does not look
     * for a device: see {@link #deviceCount()}.
     *
     * @throws CudaException when the file is missing, does not load, or is not Tessera's library of this ABI version
     */
    public static Cuda open(Path library) {
        Path path = library.toAbsolutePath().normalize();
        return OPENED.computeIfAbsent(path, p -> {
            if (!Files.isRegularFile(p)) throw new CudaException("the CUDA library " + p + " does not exist");
            // NOTE: checked before dlopen, which on failure makes the JVM print a stack-guard warning to stderr
            if (!isElf(p)) throw new CudaException("the CUDA library " + p + " could not be loaded (not a shared library)");
            SymbolLookup lookup;
            try {
                lookup = SymbolLookup.libraryLookup(p, Arena.global());
            } catch (IllegalArgumentException | IllegalCallerException e) {
                throw new CudaException("the CUDA library " + p + " could not be loaded (" + e.getMessage() + ")");
            }
            return new Cuda(p, lookup);
        });
    }

    private static boolean isElf(Path file) {
        try (InputStream in = Files.newInputStream(file)) {
            byte[] magic = in.readNBytes(4);
            return magic.length == 4 && magic[0] == 0x7F && magic[1] == 'E' && magic[2] == 'L' && magic[3] == 'F';
        } catch (IOException e) {
            return false;
        }
    }

    private Availability probe() {
        if (!missing.isEmpty())
            return new Availability(false, "the CUDA library " + path + " lacks " + String.join(", ", missing)
                    + ", so it does not match this Tessera");
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment count = arena.allocate(JAVA_INT);
            Status status = Status.of(call(() -> (int) deviceCount.invokeExact(count)));
            if (status == Status.NO_DEVICE) return new Availability(false, "the CUDA library loaded but found no GPU" + detail());
            if (status != Status.OK)
                return new Availability(false, "the CUDA library loaded but could not count GPUs (" + status + ")" + detail());
            int n = count.get(JAVA_INT, 0);
            if (n < 1) return new Availability(false, "the CUDA library loaded but the driver reports no GPU");
            return new Availability(true, hostBuild ? "the host build of the CUDA library (kernels emulated on the CPU)"
                    : n + " CUDA device" + (n == 1 ? "" : "s") + " (" + path.getFileName() + ")");
        }
    }

    private String detail() {
        String line = lastError().strip();
        return line.isEmpty() ? "" : ": " + line;
    }

    public Path path() { return path; }

    /** True for the host build: kernels run on the CPU, for tests. */
    public boolean isHostBuild() { return hostBuild; }

    /** The ops this library lacks (empty for a complete library). */
    public List<String> missingSymbols() { return List.copyOf(missing); }

    /** How many CUDA devices the driver sees. */
    public int deviceCount() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment count = arena.allocate(JAVA_INT);
            check("tc_device_count", call(() -> (int) deviceCount.invokeExact(count)));
            return count.get(JAVA_INT, 0);
        }
    }

    /** Makes a context (a stream and scratch) on {@code device}. */
    public Context createContext(int device) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ADDRESS);
            check("tc_context_create", call(() -> (int) contextCreate.invokeExact(device, out)));
            return new Context(out.get(ADDRESS, 0));
        }
    }

    /** Scratch bytes {@link Context#pagedAttention} needs. */
    public long attentionWorkspaceBytes(int tokens, int heads, int maxKeys) {
        return callLong(() -> (long) attentionWorkspace.invokeExact(tokens, heads, maxKeys));
    }

    /** Scratch bytes {@link Context#moe} needs. */
    public long moeWorkspaceBytes(int tokens, int experts, int topK, int intermediate, int hidden) {
        return callLong(() -> (long) moeWorkspace.invokeExact(tokens, experts, topK, intermediate, hidden));
    }

    // ---- calls ----------------------------------------------------------------------------------------------------

    private interface IntCall { int run() throws Throwable; }

    private interface LongCall { long run() throws Throwable; }

    private static int call(IntCall c) {
        try {
            return c.run();
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    private static long callLong(LongCall c) {
        try {
            return c.run();
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    private static RuntimeException rethrow(Throwable t) {
        if (t instanceof RuntimeException r) return r;
        if (t instanceof Error e) throw e;
        return new IllegalStateException(t);
    }

    /**
     * Throws {@link CudaException} naming {@code function} unless {@code code} is {@code TC_OK}; a lost device throws
     * {@link BackendLostException}.
     */
    private void check(String function, int code) {
        if (code == 0) return;
        String name;
        try {
            name = ((MemorySegment) statusName.invokeExact(code)).reinterpret(256).getString(0);
        } catch (Throwable t) {
            throw rethrow(t);
        }
        String detail = lastError().strip();
        if (Status.of(code) == Status.DEVICE_LOST)
            throw new BackendLostException(function + " failed (" + name + "): " + detail + "; the GPU context is lost "
                    + "and every later call would fail: restart the process");
        throw new CudaException(function, Status.of(code), name, detail);
    }

    private String lastError() {
        try {
            MemorySegment s = (MemorySegment) lastError.invokeExact();
            return s.equals(MemorySegment.NULL) ? "" : s.reinterpret(Integer.MAX_VALUE).getString(0);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    private static MemorySegment ptr(long address) {
        return address == 0 ? MemorySegment.NULL : MemorySegment.ofAddress(address);
    }

    /**
     * One device and one stream. Operations are queued in order and return once queued, except the copies to the host
     * and {@link #synchronize()}, which wait. Driven by one thread at a time; {@link #close()} waits for the queued work.
     */
    public final class Context implements AutoCloseable {

        private MemorySegment handle;
        private final MemorySegment out;                        // out-parameters of alloc and memoryInfo
        private MemorySegment staging = MemorySegment.NULL;     // host side of copies from and to the heap

        private Context(MemorySegment handle) {
            this.handle = handle;
            this.out = Arena.ofAuto().allocate(MemoryLayout.sequenceLayout(2, JAVA_LONG));
        }

        private MemorySegment ctx() {
            if (handle == null) throw new IllegalStateException("the CUDA context is closed");
            return handle;
        }

        public Cuda library() { return Cuda.this; }

        public String deviceName() {
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment name = arena.allocate(256);
                check("tc_device_name", call(() -> (int) deviceName.invokeExact(ctx(), name, 256)));
                return name.getString(0);
            }
        }

        /** The compute capability as {@code major · 10 + minor}. */
        public int computeCapability() {
            check("tc_compute_capability", call(() -> (int) computeCapability.invokeExact(ctx(), out)));
            return out.get(JAVA_INT, 0);
        }

        public MemoryInfo memoryInfo() {
            MemorySegment total = out.asSlice(8);
            check("tc_memory_info", call(() -> (int) memoryInfo.invokeExact(ctx(), out, total)));
            return new MemoryInfo(out.get(JAVA_LONG, 0), out.get(JAVA_LONG, 8));
        }

        /** {@code bytes} of device memory, 256-byte aligned; 0 bytes gives the null pointer 0. */
        public long alloc(long bytes) {
            check("tc_alloc", call(() -> (int) alloc.invokeExact(ctx(), bytes, out)));
            return out.get(JAVA_LONG, 0);
        }

        /** Frees memory from {@link #alloc} once the queued work is done with it; 0 is ignored. */
        public void free(long device) {
            check("tc_free", call(() -> (int) free.invokeExact(ctx(), ptr(device))));
        }

        /**
         * Queues a copy of {@code bytes} from {@code src} to the device. A native segment (a mapped file) is read in
         * place; a heap segment goes through a host staging buffer. {@code src} may be reused on return.
         */
        public void copyToDevice(long dst, MemorySegment src, long bytes) {
            if (src.isNative()) {
                check("tc_copy_to_device", call(() -> (int) copyToDevice.invokeExact(ctx(), ptr(dst), src, bytes)));
                return;
            }
            for (long at = 0; at < bytes; at += STAGING_CHUNK) {
                long n = Math.min(STAGING_CHUNK, bytes - at), to = dst + at;
                MemorySegment stage = staging(n);
                MemorySegment.copy(src, at, stage, 0, n);
                check("tc_copy_to_device", call(() -> (int) copyToDevice.invokeExact(ctx(), ptr(to), stage, n)));
            }
        }

        public void copyToDevice(long dst, float[] src) {
            copyToDevice(dst, MemorySegment.ofArray(src), 4L * src.length);
        }

        /** Copies {@code bytes} from the device to {@code dst}, after the queued work. */
        public void copyToHost(MemorySegment dst, long src, long bytes) {
            if (dst.isNative()) {
                check("tc_copy_to_host", call(() -> (int) copyToHost.invokeExact(ctx(), dst, ptr(src), bytes)));
                return;
            }
            for (long at = 0; at < bytes; at += STAGING_CHUNK) {
                long n = Math.min(STAGING_CHUNK, bytes - at), from = src + at;
                MemorySegment stage = staging(n);
                check("tc_copy_to_host", call(() -> (int) copyToHost.invokeExact(ctx(), stage, ptr(from), n)));
                MemorySegment.copy(stage, 0, dst, at, n);
            }
        }

        public void copyToHost(float[] dst, long src) { copyToHost(MemorySegment.ofArray(dst), src, 4L * dst.length); }

        public void copyToHost(int[] dst, long src) { copyToHost(MemorySegment.ofArray(dst), src, 4L * dst.length); }

        private MemorySegment staging(long bytes) {
            if (staging.byteSize() < bytes) staging = Arena.ofAuto().allocate(Math.max(bytes, 1 << 16), 256);
            return staging;
        }

        public void copyOnDevice(long dst, long src, long bytes) {
            check("tc_copy_on_device", call(() -> (int) copyOnDevice.invokeExact(ctx(), ptr(dst), ptr(src), bytes)));
        }

        public void zero(long dst, long bytes) {
            check("tc_zero", call(() -> (int) zero.invokeExact(ctx(), ptr(dst), bytes)));
        }

        /** Waits for the queued work; reports a kernel's failure if one failed. */
        public void synchronize() {
            check("tc_synchronize", call(() -> (int) synchronize.invokeExact(ctx())));
        }

        // ---- synthetic weights ----

        public void bf16FillUniform(long dst, long n, long seed, float scale) {
            check("tc_bf16_fill_uniform", call(() -> (int) bf16Fill.invokeExact(ctx(), ptr(dst), n, seed, scale)));
        }

        public void u8FillUniform(long dst, long n, long seed, int lo, int hi) {
            check("tc_u8_fill_uniform", call(() -> (int) u8Fill.invokeExact(ctx(), ptr(dst), n, seed, lo, hi)));
        }

        // ---- model ops: see tessera_cuda.h for each contract ----

        public void embedding(long tokens, int n, long table, int vocab, int hidden, long out) {
            check("tc_f32_bf16w_embedding", call(() -> (int) embedding.invokeExact(ctx(), ptr(tokens), n, ptr(table),
                    vocab, hidden, ptr(out))));
        }

        public void rmsNorm(long x, long gain, int rows, int cols, float eps, long out) {
            check("tc_f32_rmsnorm", call(() -> (int) rmsNorm.invokeExact(ctx(), ptr(x), ptr(gain), rows, cols, eps,
                    ptr(out))));
        }

        public void qkvRope(long x, int rows, int inFeatures, long wq, long bq, int qRows, long wk, long bk, int kRows,
                            long wv, long bv, int vRows, int headDim, long positions, long invFreq, float concentration,
                            long q, long k, long v) {
            check("tc_f32_bf16w_qkv_rope", call(() -> (int) qkvRope.invokeExact(ctx(), ptr(x), rows, inFeatures, ptr(wq),
                    ptr(bq), qRows, ptr(wk), ptr(bk), kRows, ptr(wv), ptr(bv), vRows, headDim, ptr(positions),
                    ptr(invFreq), concentration, ptr(q), ptr(k), ptr(v))));
        }

        public void linear(long x, int rows, int inFeatures, long w, int outFeatures, long bias, long y) {
            check("tc_f32_bf16w_linear", call(() -> (int) linear.invokeExact(ctx(), ptr(x), rows, inFeatures, ptr(w),
                    outFeatures, ptr(bias), ptr(y))));
        }

        public void rope(long x, int rows, int cols, int headDim, long positions, long invFreq, float concentration) {
            check("tc_f32_rope", call(() -> (int) rope.invokeExact(ctx(), ptr(x), rows, cols, headDim, ptr(positions),
                    ptr(invFreq), concentration)));
        }

        public void kvWrite(long k, long v, int rows, int width, long slots, long kCache, long vCache) {
            check("tc_f32_kv_write", call(() -> (int) kvWrite.invokeExact(ctx(), ptr(k), ptr(v), rows, width, ptr(slots),
                    ptr(kCache), ptr(vCache))));
        }

        public void pagedAttention(long q, int tokens, int heads, int kvHeads, int headDim, long kCache, long vCache,
                                   long positions, long sequenceOf, long tableOffsets, long blockTables, int blockSize,
                                   long sinks, int window, float scale, int maxPosition, long workspace, long out) {
            check("tc_f32_paged_attention", call(() -> (int) attention.invokeExact(ctx(), ptr(q), tokens, heads, kvHeads,
                    headDim, ptr(kCache), ptr(vCache), ptr(positions), ptr(sequenceOf), ptr(tableOffsets),
                    ptr(blockTables), blockSize, ptr(sinks), window, scale, maxPosition, ptr(workspace), ptr(out))));
        }

        public void moe(long x, int tokens, int hidden, int intermediate, int experts, int topK, long routerW,
                        long routerBias, long w1Blocks, long w1Scales, long w1Bias, long w2Blocks, long w2Scales,
                        long w2Bias, float swigluLimit, float swigluAlpha, long workspace, long out) {
            check("tc_f32_mxfp4w_moe", call(() -> (int) moe.invokeExact(ctx(), ptr(x), tokens, hidden, intermediate,
                    experts, topK, ptr(routerW), ptr(routerBias), ptr(w1Blocks), ptr(w1Scales), ptr(w1Bias),
                    ptr(w2Blocks), ptr(w2Scales), ptr(w2Bias), swigluLimit, swigluAlpha, ptr(workspace), ptr(out))));
        }

        public void gatherRows(long x, int cols, long rows, int n, long out) {
            check("tc_f32_gather_rows", call(() -> (int) gatherRows.invokeExact(ctx(), ptr(x), cols, ptr(rows), n,
                    ptr(out))));
        }

        public void add(long x, long y, long n) {
            check("tc_f32_add", call(() -> (int) add.invokeExact(ctx(), ptr(x), ptr(y), n)));
        }

        public void greedyRows(long x, int rows, int cols, long tokens, long logprobs) {
            check("tc_f32_greedy_rows", call(() -> (int) greedyRows.invokeExact(ctx(), ptr(x), rows, cols, ptr(tokens), ptr(logprobs))));
        }

        public void argmaxRows(long x, int rows, int cols, long out) {
            check("tc_f32_argmax_rows", call(() -> (int) argmaxRows.invokeExact(ctx(), ptr(x), rows, cols, ptr(out))));
        }

        /** Waits for the queued work and frees the stream; memory from {@link #alloc} must be freed before. Idempotent. */
        @Override
        public void close() {
            if (handle == null) return;
            MemorySegment h = handle;
            handle = null;
            try {
                contextDestroy.invokeExact(h);
            } catch (Throwable t) {
                throw rethrow(t);
            }
        }
    }
}
