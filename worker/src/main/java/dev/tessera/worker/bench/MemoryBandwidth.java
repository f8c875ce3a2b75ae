package dev.tessera.worker.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Measures how fast this machine reads memory: {@code threads} threads each sum their share of a buffer far larger
 * than the caches with the Vector API. The best of several passes is the figure the engine's weight streaming is
 * compared to.
 */
public final class MemoryBandwidth {

    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;

    private MemoryBandwidth() {}

    /** Bytes per second read, best of {@code passes}. */
    public static double measure(long bytes, int threads, int passes) throws Exception {
        int perThread = (int) Math.min(Integer.MAX_VALUE - 64, bytes / Float.BYTES / threads) / F.length() * F.length();
        float[][] parts = new float[threads][perThread];
        for (float[] p : parts) java.util.Arrays.fill(p, 1f);
        try (ExecutorService pool = Executors.newFixedThreadPool(threads)) {
            double best = 0;
            float sink = 0;
            for (int pass = 0; pass < passes; pass++) {
                List<Future<Float>> futures = new ArrayList<>();
                long start = System.nanoTime();
                for (float[] p : parts) futures.add(pool.submit(() -> sum(p)));
                for (Future<Float> f : futures) sink += f.get();
                double seconds = (System.nanoTime() - start) / 1e9;
                best = Math.max(best, (double) perThread * threads * Float.BYTES / seconds);
            }
            if (sink == 42f) System.out.print(""); // keep the sums alive
            return best;
        }
    }

    private static float sum(float[] a) {
        FloatVector s0 = FloatVector.zero(F), s1 = FloatVector.zero(F), s2 = FloatVector.zero(F), s3 = FloatVector.zero(F);
        int step = F.length() * 4, i = 0;
        for (; i + step <= a.length; i += step) {
            s0 = s0.add(FloatVector.fromArray(F, a, i));
            s1 = s1.add(FloatVector.fromArray(F, a, i + F.length()));
            s2 = s2.add(FloatVector.fromArray(F, a, i + 2 * F.length()));
            s3 = s3.add(FloatVector.fromArray(F, a, i + 3 * F.length()));
        }
        float s = s0.add(s1).add(s2).add(s3).reduceLanes(VectorOperators.ADD);
        for (; i < a.length; i++) s += a[i];
        return s;
    }
}
