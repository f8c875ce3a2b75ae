package dev.tessera.deploy.bench;

import dev.tessera.client.Completion;
import dev.tessera.client.GenerateRequests;
import dev.tessera.client.GenerationListener;
import dev.tessera.client.TesseraClient;
import dev.tessera.deploy.LocalCluster;
import dev.tessera.proto.v1.GenerateRequest;
import dev.tessera.proto.v1.GenerateResponse;
import dev.tessera.worker.backend.Backend;
import dev.tessera.worker.checkpoint.Checkpoint;
import dev.tessera.worker.engine.BlockPool;
import dev.tessera.worker.engine.LocalPipeline;
import dev.tessera.worker.engine.SamplingParams;
import dev.tessera.worker.engine.SequenceChunk;
import dev.tessera.worker.engine.ShardOutput;
import dev.tessera.worker.engine.ShardStep;
import dev.tessera.worker.model.ModelConfig;
import io.grpc.StatusRuntimeException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * Serving overhead: steady decode tokens/s of {@code streams} concurrent greedy streams through the cluster
 * (ZooKeeper, coordinator, {@code stages} workers over gRPC), divided by the engine's own decode tokens/s for the
 * same batch, stages and model in this process with no network. Both are measured in the same run.
 */
public final class ServingBench {

    /**
     * @param stages     pipeline stages (workers) in the cluster and in the engine
     * @param streams    concurrent streams, which is also the engine's batch
     * @param promptTokens prompt length of every stream
     * @param decodeTokens tokens each stream generates
     */
    public record Options(int stages, int streams, int promptTokens, int decodeTokens) {
        public Options {
            if (stages < 1 || streams < 1 || promptTokens < 1 || decodeTokens < 4)
                throw new IllegalArgumentException("stages, streams and prompt tokens must be >= 1, decode tokens >= 4");
        }
    }

    public record Figures(double engineTokensPerSecond, double clusterTokensPerSecond) {
        public double ratio() { return clusterTokensPerSecond / engineTokensPerSecond; }
    }

    private ServingBench() {}

    public static Figures run(Path dir, Supplier<Backend> backends, String backendName, Options o, Consumer<String> out)
            throws Exception {
        ModelConfig config = ModelConfig.load(dir);
        SplittableRandom random = new SplittableRandom(11);
        int[][] prompts = new int[o.streams()][];
        for (int s = 0; s < o.streams(); s++) prompts[s] = random.ints(o.promptTokens(), 0, config.vocabSize()).toArray();

        out.accept("engine: " + o.streams() + " sequences decoding together, " + o.stages() + " stages in this process");
        double engine = engine(dir, config, backends, o, prompts);
        out.accept(String.format(java.util.Locale.ROOT, "engine: %.2f decode tokens/s", engine));

        out.accept("cluster: ZooKeeper, a coordinator and " + o.stages() + " workers on loopback");
        int blocks = o.streams() * ((o.promptTokens() + o.decodeTokens()) / 16 + 2) + 16;
        LocalCluster.Options co = LocalCluster.Options.of(dir, o.stages(), backends, backendName).withKv(blocks, 16);
        double cluster;
        try (LocalCluster c = LocalCluster.start(co, new java.io.PrintStream(java.io.OutputStream.nullOutputStream()));
             TesseraClient client = TesseraClient.connect(c.address())) {
            client.complete(request(prompts[0], 4)).get(5, TimeUnit.MINUTES); // warm-up: JIT, connections
            cluster = cluster(client, o, prompts);
        }
        out.accept(String.format(java.util.Locale.ROOT, "cluster: %.2f decode tokens/s", cluster));
        return new Figures(engine, cluster);
    }

    private static GenerateRequest request(int[] prompt, int tokens) {
        return GenerateRequests.tokens(prompt).setSampling(GenerateRequests.greedy(tokens)).setIgnoreStopTokens(true)
                .setOmitText(true).build();
    }

    /** Steady decode rate of all streams: tokens in the window where every stream is decoding, over its length. */
    private static double cluster(TesseraClient client, Options o, int[][] prompts) throws Exception {
        List<List<Long>> stamps = new ArrayList<>();
        List<CompletableFuture<Completion>> done = new ArrayList<>();
        for (int s = 0; s < o.streams(); s++) {
            List<Long> times = new ArrayList<>();
            stamps.add(times);
            CompletableFuture<Completion> f = new CompletableFuture<>();
            done.add(f);
            client.generate(request(prompts[s], o.decodeTokens()), new GenerationListener() {
                @Override public void onChunk(GenerateResponse chunk) {
                    long now = System.nanoTime();
                    synchronized (times) { for (int i = 0; i < chunk.getTokenIdsCount(); i++) times.add(now); }
                }
                @Override public void onComplete(Completion c) { f.complete(c); }
                @Override public void onError(StatusRuntimeException e) { f.completeExceptionally(e); }
            });
        }
        for (CompletableFuture<Completion> f : done) f.get(30, TimeUnit.MINUTES);
        long start = Long.MIN_VALUE, end = Long.MAX_VALUE;
        for (List<Long> t : stamps) {
            start = Math.max(start, t.getFirst());
            end = Math.min(end, t.getLast());
        }
        if (end <= start) throw new IllegalStateException("no window in which every stream was decoding; raise --decode-tokens");
        long tokens = 0;
        for (List<Long> t : stamps) for (long x : t) if (x > start && x <= end) tokens++;
        return tokens / ((end - start) / 1e9);
    }

    /** Decode tokens/s of the same batch through the same stages in one process. */
    private static double engine(Path dir, ModelConfig config, Supplier<Backend> backends, Options o, int[][] prompts) {
        int perSeq = o.promptTokens() + o.decodeTokens() + 1;
        int blocks = o.streams() * (perSeq / 16 + 2);
        try (Checkpoint ckpt = Checkpoint.open(dir);
             LocalPipeline pipeline = LocalPipeline.load(ckpt, config, o.stages(), blocks, 16, backends)) {
            BlockPool pool = new BlockPool(blocks, 16);
            List<int[]> tables = new ArrayList<>();
            List<SequenceChunk> prefill = new ArrayList<>();
            for (int s = 0; s < o.streams(); s++) {
                int[] table = pool.grow(new int[0], perSeq);
                tables.add(table);
                prefill.add(new SequenceChunk(s, prompts[s], 0, table, true, SamplingParams.GREEDY));
            }
            ShardOutput last = pipeline.run(ShardStep.of(prefill));
            int warm = 2, steps = o.decodeTokens() - 1;
            long start = 0;
            for (int step = 0; step < steps; step++) {
                if (step == warm) start = System.nanoTime();
                List<SequenceChunk> next = new ArrayList<>();
                for (int s = 0; s < o.streams(); s++)
                    next.add(new SequenceChunk(s, new int[] {last.sampled().get(s).token()}, o.promptTokens() + step,
                            tables.get(s), true, SamplingParams.GREEDY));
                last = pipeline.run(ShardStep.of(next));
            }
            return (double) o.streams() * (steps - warm) / ((System.nanoTime() - start) / 1e9);
        }
    }
}
