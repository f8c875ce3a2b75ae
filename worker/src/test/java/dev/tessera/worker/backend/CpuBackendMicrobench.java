package dev.tessera.worker.backend;

import dev.tessera.worker.backend.Backend.Activations;
import dev.tessera.worker.backend.Backend.Matrix;
import dev.tessera.worker.backend.Backend.Moe;
import dev.tessera.worker.checkpoint.DType;
import dev.tessera.worker.checkpoint.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

/**
 * Times the hot ops (not a test; surefire does not run it): bf16 linear at batch 1 and 16 on a cache-sized and a
 * larger-than-cache matrix, and the MXFP4 MoE block with gpt-oss-20b's shapes at batch 1 and 16, printing the GB/s of
 * weights streamed for {@link ScalarBackend} and {@link CpuBackend} on 1 and 2 threads, next to a plain read of the
 * same bytes (the machine's streaming bandwidth).
 *
 * <p>Run: {@code java --add-modules jdk.incubator.vector -cp worker/target/classes:worker/target/test-classes
 * dev.tessera.worker.backend.CpuBackendMicrobench [linear|moe|read]...}
 */
public final class CpuBackendMicrobench {

    private static final Arena ARENA = Arena.ofShared();
    private static final Random RANDOM = new Random(7);

    public static void main(String[] args) {
        var which = Arrays.asList(args.length == 0 ? new String[] {"read", "linear", "moe"} : args);
        System.out.printf("float lanes %d, %d processors%n", FloatVector.SPECIES_PREFERRED.length(),
                Runtime.getRuntime().availableProcessors());
        if (which.contains("read")) read();
        if (which.contains("linear")) {
            linear(2880, 2880, new int[] {1, 16});
            linear(8192, 4096, new int[] {1, 4, 16, 64});
        }
        if (which.contains("moe")) moe(32, 2880, 2880, new int[] {1, 16});
    }

    /** A vectorised sum over a 256 MB segment: the streaming read bandwidth the kernels aim for. */
    private static void read() {
        MemorySegment seg = randomBytes(256L << 20);
        for (int threads : new int[] {1, 2})
            try (CpuThreads team = new CpuThreads(threads)) {
                long chunk = seg.byteSize() / 64;
                float[] sink = new float[threads];
                double s = time(5, () -> team.forEach(64, 1, (start, end, m) -> {
                    for (int c = start; c < end; c++) sink[m] += sum(seg, c * chunk, chunk);
                }));
                System.out.printf("read %d MB, %d thread(s): %.1f GB/s%n", seg.byteSize() >> 20, threads, seg.byteSize() / s / 1e9);
            }
    }

    private static float sum(MemorySegment seg, long at, long bytes) {
        var f = FloatVector.SPECIES_PREFERRED;
        FloatVector a = FloatVector.zero(f), b = a;
        long step = f.vectorByteSize();
        for (long i = at; i < at + bytes; i += 2 * step) {
            a = a.add(FloatVector.fromMemorySegment(f, seg, i, java.nio.ByteOrder.LITTLE_ENDIAN));
            b = b.add(FloatVector.fromMemorySegment(f, seg, i + step, java.nio.ByteOrder.LITTLE_ENDIAN));
        }
        return a.add(b).reduceLanes(VectorOperators.ADD);
    }

    private static void linear(int rows, int cols, int[] batches) {
        MemorySegment w = ARENA.allocate(2L * rows * cols);
        for (long i = 0; i < (long) rows * cols; i++)   // bf16 in [-1, 1)
            w.set(ValueLayout.JAVA_SHORT_UNALIGNED, 2 * i, (short) (Float.floatToRawIntBits(RANDOM.nextFloat() * 2 - 1) >>> 16));
        Tensor t = new Tensor("w", DType.BF16, new long[] {rows, cols}, w, Path.of("random"));
        double mb = w.byteSize() / 1e6;
        for (int batch : batches) {
            float[] x = new float[batch * cols];
            for (int i = 0; i < x.length; i++) x[i] = RANDOM.nextFloat();
            if (batch == 1) {
                ScalarBackend scalar = new ScalarBackend();
                report("linear %dx%d (%.0f MB) batch %d scalar", w.byteSize(), 1, linearTime(scalar, t, x, batch, 2),
                        rows, cols, mb, batch);
            }
            for (int threads : new int[] {1, 2})
                try (CpuBackend cpu = new CpuBackend(threads)) {
                    double s = linearTime(cpu, t, x, batch, 20);
                    report("linear %dx%d (%.0f MB) batch %d cpu x%d", w.byteSize(), batch, s, rows, cols, mb, batch, threads);
                }
        }
    }

    private static double linearTime(Backend b, Tensor t, float[] x, int batch, int reps) {
        Matrix m = b.matrix(t);
        Activations in = b.upload(x, batch, m.cols()), out = b.allocate(batch, m.rows());
        return time(reps, () -> b.linear(in, m, null, out));
    }

    /** gpt-oss-style experts: E experts, top-4, hidden H, intermediate I, random MXFP4 codes, scales near 2^-4. */
    private static void moe(int experts, int hidden, int inter, int[] batches) {
        long guRow = hidden / 32 * 17L, dRow = inter / 32 * 17L;
        Tensor[] tensors = {
                bf16("router", experts, hidden), bf16("router.bias", experts),
                u8("gate_up.blocks", randomBytes((long) experts * 2 * inter * hidden / 2), experts, 2 * inter, hidden / 32, 16),
                u8("gate_up.scales", scales((long) experts * 2 * inter * hidden / 32), experts, 2 * inter, hidden / 32),
                bf16("gate_up.bias", experts, 2 * inter),
                u8("down.blocks", randomBytes((long) experts * hidden * inter / 2), experts, hidden, inter / 32, 16),
                u8("down.scales", scales((long) experts * hidden * inter / 32), experts, hidden, inter / 32),
                bf16("down.bias", experts, hidden)};
        long perExpert = 2L * inter * guRow + hidden * dRow;
        for (int batch : batches) {
            float[] x = new float[batch * hidden];
            for (int i = 0; i < x.length; i++) x[i] = (float) RANDOM.nextGaussian();
            long bytes = activeExperts(tensors[0], x, batch, experts, hidden) * perExpert;
            String what = "moe E%d H%d I%d batch %d (%d experts, %.0f MB) %s";
            if (batch == 1) report(what, bytes, batch, moeTime(new ScalarBackend(), tensors, x, batch, 2),
                    experts, hidden, inter, batch, bytes / perExpert, bytes / 1e6, "scalar");
            for (int threads : new int[] {1, 2})
                try (CpuBackend cpu = new CpuBackend(threads)) {
                    report(what, bytes, batch, moeTime(cpu, tensors, x, batch, 10),
                            experts, hidden, inter, batch, bytes / perExpert, bytes / 1e6, "cpu x" + threads);
                }
        }
    }

    private static double moeTime(Backend b, Tensor[] t, float[] x, int batch, int reps) {
        Moe moe = new Moe(b.matrix(t[0]), b.vec(t[1]), b.experts(t[2], t[3], t[4], t[5], t[6], t[7]), 4, 7f, 1.702f);
        Activations in = b.upload(x, batch, x.length / batch), out = b.allocate(batch, x.length / batch);
        return time(reps, () -> b.moe(in, moe, out));
    }

    /** How many distinct experts the batch routes to (the scalar router, same choices). */
    private static int activeExperts(Tensor router, float[] x, int batch, int experts, int hidden) {
        ScalarBackend s = new ScalarBackend();
        Activations logits = s.allocate(batch, experts);
        s.linear(s.upload(x, batch, hidden), s.matrix(router), null, logits);
        float[] l = s.download(logits);
        boolean[] used = new boolean[experts];
        for (int t = 0; t < batch; t++) for (int e : ScalarBackend.topK(l, t * experts, experts, 4)) used[e] = true;
        int n = 0;
        for (boolean u : used) if (u) n++;
        return n;
    }

    private static void report(String format, long bytes, int batch, double seconds, Object... args) {
        System.out.printf("%-58s %8.3f ms  %6.1f GB/s  %7.1f tok/s%n", String.format(format, args), seconds * 1e3,
                bytes / seconds / 1e9, batch / seconds);
    }

    /** Best of {@code reps} runs after as many warm-up runs (at least 3). */
    private static double time(int reps, Runnable op) {
        for (int i = 0; i < Math.max(3, reps); i++) op.run();
        double best = Double.MAX_VALUE;
        for (int i = 0; i < reps; i++) {
            long t0 = System.nanoTime();
            op.run();
            best = Math.min(best, (System.nanoTime() - t0) / 1e9);
        }
        return best;
    }

    private static MemorySegment randomBytes(long n) {
        byte[] pattern = new byte[1 << 20];
        RANDOM.nextBytes(pattern);
        MemorySegment seg = ARENA.allocate(n, 64);
        for (long i = 0; i < n; i += pattern.length)
            MemorySegment.copy(MemorySegment.ofArray(pattern), 0, seg, i, Math.min(pattern.length, n - i));
        return seg;
    }

    private static MemorySegment scales(long n) {
        MemorySegment seg = ARENA.allocate(n);
        for (long i = 0; i < n; i++) seg.set(ValueLayout.JAVA_BYTE, i, (byte) (120 + RANDOM.nextInt(4)));
        return seg;
    }

    private static Tensor bf16(String name, long... shape) {
        long n = Arrays.stream(shape).reduce(1, (a, b) -> a * b);
        MemorySegment seg = ARENA.allocate(2 * n);
        for (long i = 0; i < n; i++)
            seg.set(ValueLayout.JAVA_SHORT_UNALIGNED, 2 * i, (short) (Float.floatToRawIntBits((float) RANDOM.nextGaussian() * 0.1f) >>> 16));
        return new Tensor(name, DType.BF16, shape, seg, Path.of("random"));
    }

    private static Tensor u8(String name, MemorySegment seg, long... shape) {
        return new Tensor(name, DType.U8, shape, seg, Path.of("random"));
    }
}
