package dev.tessera.deploy;

import dev.tessera.worker.backend.CpuBackend;
import dev.tessera.worker.checkpoint.Checkpoint;
import dev.tessera.worker.engine.BlockPool;
import dev.tessera.worker.engine.LocalPipeline;
import dev.tessera.worker.engine.SamplingParams;
import dev.tessera.worker.engine.SequenceChunk;
import dev.tessera.worker.engine.ShardOutput;
import dev.tessera.worker.engine.ShardStep;
import dev.tessera.worker.model.ModelConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** Test data for the end-to-end tests: the shared fixture, and greedy tokens from the engine run in one process. */
final class TestModels {

    private TestModels() {}

    /** The gpt-oss-tiny checkpoint with transformers' golden outputs (shared/fixtures beside the repository). */
    static Path tiny() {
        String override = System.getProperty("tessera.fixtures");
        if (override != null) return Path.of(override, "gpt-oss-tiny");
        for (Path d = Path.of("").toAbsolutePath(); d != null; d = d.getParent())
            for (Path c : new Path[] {d.resolve("shared/fixtures/gpt-oss-tiny"), d.resolve("../shared/fixtures/gpt-oss-tiny")})
                if (Files.isRegularFile(c.resolve("config.json"))) return c.normalize();
        throw new IllegalStateException("shared/fixtures/gpt-oss-tiny not found: the tests need the shared fixtures beside the repository");
    }

    /** Greedy tokens of a lone run of the engine in this process (one stage, no cluster). */
    static int[] engineGreedy(Path dir, int[] prompt, int n) throws java.io.IOException {
        ModelConfig config = ModelConfig.load(dir);
        int blockSize = 16, blocks = (prompt.length + n) / blockSize + 2;
        try (Checkpoint ckpt = Checkpoint.open(dir);
             LocalPipeline pipeline = LocalPipeline.load(ckpt, config, 1, blocks, blockSize, CpuBackend::new)) {
            BlockPool pool = new BlockPool(blocks, blockSize);
            int[] table = pool.grow(new int[0], prompt.length + n);
            int[] out = new int[n];
            ShardOutput o = pipeline.run(ShardStep.of(List.of(new SequenceChunk(1, prompt, 0, table, true, SamplingParams.GREEDY))));
            for (int i = 0; i < n; i++) {
                out[i] = o.sampled().getFirst().token();
                if (i + 1 < n)
                    o = pipeline.run(ShardStep.of(List.of(new SequenceChunk(1, new int[] {out[i]}, prompt.length + i, table, true, SamplingParams.GREEDY))));
            }
            return out;
        }
    }
}
