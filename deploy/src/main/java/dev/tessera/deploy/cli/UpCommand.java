package dev.tessera.deploy.cli;

import dev.tessera.worker.checkpoint.Checkpoint;
import dev.tessera.worker.checkpoint.SyntheticCheckpoint;
import dev.tessera.worker.engine.BlockPool;
import dev.tessera.worker.engine.LocalPipeline;
import dev.tessera.worker.engine.SamplingParams;
import dev.tessera.worker.engine.SequenceChunk;
import dev.tessera.worker.engine.ShardOutput;
import dev.tessera.worker.engine.ShardStep;
import dev.tessera.worker.model.ModelConfig;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * The embedded default. Until the cluster lands (ZooKeeper, a coordinator and workers over gRPC), this runs the
 * engine itself in one process, split into pipeline stages, on the synthetic demo model, and streams the tokens it
 * generates. It says so when it starts.
 */
@Command(name = "up", mixinStandardHelpOptions = true,
        description = {"Start Tessera on its embedded default.",
                "For now: the engine in one process, its layers split over --stages shards that pass hidden states as "
                        + "bytes, on the synthetic demo model (written once, then reused). The cluster — ZooKeeper, "
                        + "coordinator, workers over gRPC — is the next milestone."})
public final class UpCommand implements Callable<Integer> {

    @Option(names = "--model", description = "Checkpoint directory (default: the synthetic demo model, written on first use).")
    Path model;

    @Option(names = "--stages", defaultValue = "2", description = "Pipeline stages. Default: ${DEFAULT-VALUE}.")
    int stages;

    @Option(names = "--token-ids", split = ",", description = "Prompt token ids (default: 200006,1428,200008, i.e. <|start|>user<|message|>).")
    int[] tokenIds = {200006, 1428, 200008};

    @Option(names = "--max-tokens", defaultValue = "32", description = "Tokens to generate. Default: ${DEFAULT-VALUE}.")
    int maxTokens;

    @Option(names = "--temperature", defaultValue = "0", description = "0 is greedy. Default: ${DEFAULT-VALUE}.")
    float temperature;

    @Option(names = "--seed", defaultValue = "0", description = "Sampling seed. Default: ${DEFAULT-VALUE}.")
    long seed;

    @Mixin
    BackendOptions backend;

    @Override
    public Integer call() throws Exception {
        System.out.println("tessera up: the cluster (ZooKeeper, coordinator, workers over gRPC) is not built yet; "
                + "this runs the engine in one process.");
        Path dir = model != null ? model
                : Models.ensureSynthetic(Models.directory().resolve("demo"), SyntheticCheckpoint.preset("demo"), System.err);
        if (model == null) System.out.println("model: synthetic demo checkpoint at " + dir + " (random weights: its tokens are not language)");
        ModelConfig config = ModelConfig.load(dir);
        SamplingParams sampling = new SamplingParams(temperature, 0, 1f, seed);
        int blockSize = 16, blocks = (tokenIds.length + maxTokens) / blockSize + 2;
        long loadStart = System.nanoTime();
        try (Checkpoint ckpt = Checkpoint.open(dir);
             LocalPipeline pipeline = LocalPipeline.load(ckpt, config, stages, blocks, blockSize, backend.factory())) {
            System.out.printf(Locale.ROOT, "loaded %d layers over %d stages %s on %s in %.1f s%n", config.numLayers(),
                    stages, pipeline.shards().stream().map(s -> "[" + s.spec().firstLayer() + "," + s.spec().lastLayer() + ")").toList(),
                    backend.describe(), (System.nanoTime() - loadStart) / 1e9);
            BlockPool pool = new BlockPool(blocks, blockSize);
            int[] table = pool.grow(new int[0], tokenIds.length + maxTokens);
            long start = System.nanoTime();
            ShardOutput out = pipeline.run(ShardStep.of(List.of(new SequenceChunk(1, tokenIds, 0, table, true, sampling))));
            long firstToken = System.nanoTime();
            System.out.print("tokens:");
            for (int i = 0; i < maxTokens; i++) {
                int token = out.sampled().getFirst().token();
                System.out.print(" " + token);
                System.out.flush();
                if (i + 1 == maxTokens) break;
                out = pipeline.run(ShardStep.of(List.of(new SequenceChunk(1, new int[] {token}, tokenIds.length + i, table, true, sampling))));
            }
            double decodeSeconds = (System.nanoTime() - firstToken) / 1e9;
            System.out.printf(Locale.ROOT, "%nprompt %d tokens, first token after %.0f ms, then %.1f tokens/s%n",
                    tokenIds.length, (firstToken - start) / 1e6, maxTokens > 1 ? (maxTokens - 1) / decodeSeconds : 0.0);
        }
        return 0;
    }
}
