package dev.tessera.deploy.cli;

import dev.tessera.worker.checkpoint.SyntheticCheckpoint;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "checkpoint", mixinStandardHelpOptions = true, description = "Tools for checkpoints.",
        subcommands = CheckpointCommand.Synth.class)
public final class CheckpointCommand {

    @Command(name = "synth", mixinStandardHelpOptions = true,
            description = {"Write a checkpoint with random weights in the Hugging Face gpt-oss layout "
                    + "(config.json, index, sharded safetensors, MXFP4 experts).",
                    "Start from a preset and override any dimension; the same seed writes the same bytes."})
    public static final class Synth implements Callable<Integer> {

        @Option(names = "--out", required = true, description = "Directory to write (must not hold a checkpoint already).")
        Path out;

        @Option(names = "--preset", defaultValue = "tiny",
                description = "gpt-oss-120b, gpt-oss-20b, demo (small, real 201,088-token vocabulary) or tiny. Default: ${DEFAULT-VALUE}.")
        String preset;

        @Option(names = "--layers", description = "Number of layers (cuts a preset down).") Integer layers;
        @Option(names = "--experts", description = "Experts per layer.") Integer experts;
        @Option(names = "--experts-per-token", description = "Experts each token is routed to.") Integer expertsPerToken;
        @Option(names = "--hidden", description = "Residual width (multiple of 32).") Integer hidden;
        @Option(names = "--intermediate", description = "Expert width (multiple of 32).") Integer intermediate;
        @Option(names = "--heads", description = "Query heads.") Integer heads;
        @Option(names = "--kv-heads", description = "Key/value heads (divides heads).") Integer kvHeads;
        @Option(names = "--head-dim", description = "Width of one head (even).") Integer headDim;
        @Option(names = "--vocab", description = "Vocabulary size.") Integer vocab;
        @Option(names = "--window", description = "Sliding window of the even layers, in keys.") Integer window;
        @Option(names = "--seed", description = "Seed of the random weights.") Long seed;

        @Option(names = "--max-shard-bytes", defaultValue = "2147483648",
                description = "Largest shard file, in bytes. Default: ${DEFAULT-VALUE}.")
        long maxShardBytes;

        @Override
        public Integer call() throws Exception {
            SyntheticCheckpoint.Shape p = SyntheticCheckpoint.preset(preset);
            SyntheticCheckpoint.Shape shape = new SyntheticCheckpoint.Shape(
                    or(layers, p.layers()), or(experts, p.experts()), or(expertsPerToken, p.expertsPerToken()),
                    or(hidden, p.hidden()), or(intermediate, p.intermediate()), or(heads, p.heads()),
                    or(kvHeads, p.kvHeads()), or(headDim, p.headDim()), or(vocab, p.vocab()), or(window, p.window()),
                    seed != null ? seed : p.seed());
            if (Files.exists(out.resolve("config.json")))
                throw new IllegalArgumentException(out + " already holds a checkpoint; choose another --out");
            Models.write(out, shape, maxShardBytes, System.err);
            System.out.println("wrote " + out);
            return 0;
        }

        private static int or(Integer value, int fallback) { return value != null ? value : fallback; }
    }
}
