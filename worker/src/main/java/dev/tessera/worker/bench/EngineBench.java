package dev.tessera.worker.bench;

import dev.tessera.worker.backend.Backend;
import dev.tessera.worker.checkpoint.Checkpoint;
import dev.tessera.worker.engine.BlockPool;
import dev.tessera.worker.engine.CheckpointWeights;
import dev.tessera.worker.engine.LocalPipeline;
import dev.tessera.worker.engine.SamplingParams;
import dev.tessera.worker.engine.SequenceChunk;
import dev.tessera.worker.engine.ShardOutput;
import dev.tessera.worker.engine.ShardStep;
import dev.tessera.worker.engine.WeightSource;
import dev.tessera.worker.model.ModelConfig;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * The engine's own speed on one machine: prefill tokens/s, decode tokens/s at several batch sizes, the bytes of
 * weights each decode step must stream, and — measured in the same run — the machine's memory read bandwidth, so
 * that decode can be stated as a fraction of what the memory allows.
 */
public final class EngineBench {

    public record Options(int prefillTokens, int decodeSteps, List<Integer> batches, int kvBlockSize) {
        public Options {
            batches = List.copyOf(batches);
            if (prefillTokens < 1 || decodeSteps < 1 || batches.isEmpty() || batches.stream().anyMatch(b -> b < 1))
                throw new IllegalArgumentException("prefill tokens, decode steps and batch sizes must be positive");
        }
    }

    /**
     * The memory the weights stream from, measured in the same run: the host's read bandwidth for the CPU backends,
     * the device's copy bandwidth (bytes read plus written) for CUDA.
     */
    public interface MemoryProbe {
        /** What is measured, for the report ("memory read bandwidth, 2 threads"). */
        String describe();

        double bytesPerSecond() throws Exception;
    }

    /** One decode measurement, with the ceiling the memory sets for it: every weight byte of a step read once. */
    public record Decode(int batch, double tokensPerSecond, double weightBytesPerStep, double weightBytesPerSecond) {
        /** Tokens/s if a step took exactly its weight bytes over {@code bandwidth}. */
        public double ceilingTokensPerSecond(double bandwidth) { return batch * bandwidth / weightBytesPerStep; }
    }

    public record Figures(double prefillTokensPerSecond, List<Decode> decode, double memoryBytesPerSecond) {}

    private EngineBench() {}

    /** The bench over a mapped checkpoint. */
    public static Figures run(Checkpoint ckpt, ModelConfig config, Supplier<Backend> backends, Options o,
                              MemoryProbe memory, Consumer<String> out) throws Exception {
        return run(b -> new CheckpointWeights(ckpt, b), config, backends, o, memory, out);
    }

    /** The bench over the weights {@code weights} makes for the backend (a checkpoint, or generated ones). */
    public static Figures run(Function<Backend, WeightSource> weights, ModelConfig config, Supplier<Backend> backends,
                              Options o, MemoryProbe memory, Consumer<String> out) throws Exception {
        int maxBatch = o.batches().stream().mapToInt(Integer::intValue).max().orElseThrow();
        // NOTE: decode sequences hold a short prompt and the timed steps, the prefill one its prompt; the cache is
        // sized for exactly that (a full-size model leaves little device memory for more).
        int blocks = maxBatch * blocksFor(DECODE_PROMPT + o.decodeSteps() + 2, o.kvBlockSize())
                + blocksFor(o.prefillTokens(), o.kvBlockSize()) + 1;
        SplittableRandom random = new SplittableRandom(7);
        out.accept("loading weights");
        try (LocalPipeline pipeline = LocalPipeline.load(weights, config, 1, blocks, o.kvBlockSize(), backends)) {
            BlockPool pool = new BlockPool(blocks, o.kvBlockSize());
            out.accept("warming up");
            decode(pipeline, pool, config, 1, 3, random); // JIT warm-up

            int[] prompt = randomTokens(random, config, o.prefillTokens());
            double prefill = 0;
            for (int rep = 0; rep < 2; rep++) {
                int[] table = pool.grow(new int[0], prompt.length);
                long start = System.nanoTime();
                pipeline.run(serving(List.of(new SequenceChunk(1, prompt, 0, table, true, SamplingParams.GREEDY))));
                prefill = Math.max(prefill, prompt.length / ((System.nanoTime() - start) / 1e9));
                pool.release(table);
            }
            out.accept(String.format(Locale.ROOT, "prefill: %d-token prompt, %.1f tokens/s", prompt.length, prefill));

            List<Decode> results = new ArrayList<>();
            for (int batch : o.batches()) {
                double tps = decode(pipeline, pool, config, batch, o.decodeSteps(), random);
                double bytes = weightBytesPerDecodeStep(config, batch);
                Decode d = new Decode(batch, tps, bytes, bytes * tps / batch);
                results.add(d);
                out.accept(String.format(Locale.ROOT, "decode: batch %d, %.2f tokens/s, %.1f MB of weights a step, %.2f GB/s streamed",
                        batch, tps, bytes / 1e6, d.weightBytesPerSecond() / 1e9));
            }
            out.accept("measuring " + memory.describe());
            double bandwidth = memory.bytesPerSecond();
            out.accept(String.format(Locale.ROOT, "memory: %.2f GB/s (%s)", bandwidth / 1e9, memory.describe()));
            return new Figures(prefill, results, bandwidth);
        }
    }

    /** The host's read bandwidth with {@code threads} threads over a buffer of {@code bytes}. */
    public static MemoryProbe hostMemory(long bytes, int threads) {
        return new MemoryProbe() {
            public String describe() { return "memory read bandwidth, " + threads + " threads"; }
            public double bytesPerSecond() throws Exception { return MemoryBandwidth.measure(bytes, threads, 5); }
        };
    }

    private static final int DECODE_PROMPT = 8;

    private static int blocksFor(int tokens, int blockSize) { return (tokens + blockSize - 1) / blockSize; }

    /** A step as serving sends it when no log-probabilities are asked: a backend may pick greedy tokens itself. */
    private static ShardStep serving(List<SequenceChunk> sequences) {
        return new ShardStep(sequences, null, false, false, false);
    }

    /** Decode tokens/s for {@code batch} sequences stepping together, after a short untimed prefill each. */
    private static double decode(LocalPipeline pipeline, BlockPool pool, ModelConfig config, int batch, int steps,
                                 SplittableRandom random) {
        int promptLen = DECODE_PROMPT;
        List<int[]> tables = new ArrayList<>();
        List<SequenceChunk> prefill = new ArrayList<>();
        for (int s = 0; s < batch; s++) {
            int[] table = pool.grow(new int[0], promptLen + steps);
            tables.add(table);
            prefill.add(new SequenceChunk(s, randomTokens(random, config, promptLen), 0, table, true, SamplingParams.GREEDY));
        }
        ShardOutput out = pipeline.run(serving(prefill));
        long start = System.nanoTime();
        for (int step = 0; step < steps; step++) {
            List<SequenceChunk> next = new ArrayList<>();
            for (int s = 0; s < batch; s++)
                next.add(new SequenceChunk(s, new int[] {out.sampled().get(s).token()}, promptLen + step, tables.get(s),
                        true, SamplingParams.GREEDY));
            out = pipeline.run(serving(next));
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        tables.forEach(pool::release);
        return batch * steps / seconds;
    }

    /**
     * Bytes of weights one decode step reads: every attention and router matrix, the unembedding, and the experts
     * the batch touches — {@code k} per layer for one token, and in expectation {@code E·(1 − (1 − k/E)^B)} for B.
     */
    public static double weightBytesPerDecodeStep(ModelConfig c, int batch) {
        double h = c.hiddenSize(), i = c.intermediateSize(), e = c.numExperts(), k = c.expertsPerToken();
        double attention = 2.0 * (c.qWidth() * h * 2 + c.kvWidth() * h * 2);
        double router = 2.0 * e * h;
        double expert = (2 * i * h + h * i) / 32 * 17; // 16 bytes of codes + 1 scale per 32 weights
        double touched = batch == 1 ? k : e * (1 - Math.pow(1 - k / e, batch));
        double unembedding = 2.0 * c.vocabSize() * h;
        return c.numLayers() * (attention + router + touched * expert) + unembedding;
    }

    private static int[] randomTokens(SplittableRandom random, ModelConfig config, int n) {
        int[] t = new int[n];
        for (int j = 0; j < n; j++) t[j] = random.nextInt(config.vocabSize());
        return t;
    }
}
