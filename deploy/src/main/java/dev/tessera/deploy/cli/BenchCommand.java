package dev.tessera.deploy.cli;

import dev.tessera.worker.bench.EngineBench;
import dev.tessera.worker.checkpoint.Checkpoint;
import dev.tessera.worker.engine.BlockPool;
import dev.tessera.worker.engine.LocalPipeline;
import dev.tessera.worker.model.ModelConfig;
import dev.tessera.worker.sim.LatencyCalibration;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDate;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "bench", mixinStandardHelpOptions = true, description = "Benchmarks.", subcommands = {BenchCommand.Engine.class, BenchCommand.Serving.class, BenchCommand.SimCalibration.class})
public final class BenchCommand {

    @Command(name = "engine", mixinStandardHelpOptions = true,
            description = {"The engine's own speed in one process: prefill tokens/s, decode tokens/s at each batch size, "
                    + "the weight bytes each decode step streams, and the machine's memory read bandwidth measured in the "
                    + "same run. Without --model, a synthetic checkpoint of --preset (cut to --layers) is written once "
                    + "under models/ and reused."})
    public static final class Engine implements Callable<Integer> {

        @Mixin
        BenchModelOptions models;

        @Option(names = "--batches", split = ",", defaultValue = "1,16", description = "Decode batch sizes. Default: ${DEFAULT-VALUE}.")
        List<Integer> batches;

        @Option(names = "--prefill-tokens", defaultValue = "128", description = "Prompt length for prefill. Default: ${DEFAULT-VALUE}.")
        int prefillTokens;

        @Option(names = "--decode-steps", defaultValue = "16", description = "Timed decode steps per batch size. Default: ${DEFAULT-VALUE}.")
        int decodeSteps;

        @Option(names = "--bandwidth-bytes", defaultValue = "1073741824",
                description = "Buffer read to measure memory bandwidth. Default: ${DEFAULT-VALUE}.")
        long bandwidthBytes;

        @Mixin
        BackendOptions backend;

        @Override
        public Integer call() throws Exception {
            Path dir = models.resolve();
            ModelConfig config = ModelConfig.load(dir);
            int threads = backend.threads > 0 ? backend.threads : Runtime.getRuntime().availableProcessors();
            try (Checkpoint ckpt = Checkpoint.open(dir)) {
                System.out.printf(Locale.ROOT, "model %s: %d layers, hidden %d, %d experts, vocab %d, %.2f GB of weights; backend %s%n",
                        dir, config.numLayers(), config.hiddenSize(), config.numExperts(), config.vocabSize(),
                        ckpt.totalBytes() / 1e9, backend.describe());
                EngineBench.Figures f = EngineBench.run(ckpt, config, backend.factory(), new EngineBench.Options(
                        prefillTokens, decodeSteps, batches, 16, threads, bandwidthBytes), System.out::println);
                System.out.println();
                System.out.printf(Locale.ROOT, "machine: %s, %d cores; %s%n", cpuModel(), Runtime.getRuntime().availableProcessors(), LocalDate.now());
                System.out.println("| measure | value |");
                System.out.println("|---|---|");
                System.out.printf(Locale.ROOT, "| memory read bandwidth (%d threads) | %.2f GB/s |%n", threads, f.memoryBytesPerSecond() / 1e9);
                System.out.printf(Locale.ROOT, "| prefill, %d-token prompt | %.1f tokens/s |%n", prefillTokens, f.prefillTokensPerSecond());
                for (EngineBench.Decode d : f.decode())
                    System.out.printf(Locale.ROOT, "| decode, batch %d | %.2f tokens/s; %.2f GB/s of weights = %.0f%% of memory bandwidth |%n",
                            d.batch(), d.tokensPerSecond(), d.weightBytesPerSecond() / 1e9,
                            100 * d.weightBytesPerSecond() / f.memoryBytesPerSecond());
            }
            return 0;
        }

        static String cpuModel() {
            try {
                return Files.readAllLines(Path.of("/proc/cpuinfo")).stream().filter(l -> l.startsWith("model name"))
                        .findFirst().map(l -> l.substring(l.indexOf(':') + 1).trim()).orElse("unknown CPU");
            } catch (Exception e) {
                return "unknown CPU";
            }
        }
    }

    @Command(name = "serving", mixinStandardHelpOptions = true,
            description = {"Serving overhead: steady decode tokens/s of concurrent greedy streams through the cluster "
                    + "(embedded ZooKeeper, a coordinator, workers over gRPC on loopback), divided by the engine's own "
                    + "decode tokens/s for the same batch and stages in one process, both measured in this run. Without "
                    + "--model, a synthetic checkpoint of --preset (cut to --layers) is written once under models/ and reused."})
    public static final class Serving implements Callable<Integer> {

        @Mixin
        BenchModelOptions models;

        @Option(names = "--stages", defaultValue = "2", description = "Pipeline stages. Default: ${DEFAULT-VALUE}.")
        int stages;

        @Option(names = "--streams", defaultValue = "32", description = "Concurrent streams (the engine's batch). Default: ${DEFAULT-VALUE}.")
        int streams;

        @Option(names = "--prompt-tokens", defaultValue = "16", description = "Prompt length. Default: ${DEFAULT-VALUE}.")
        int promptTokens;

        @Option(names = "--decode-tokens", defaultValue = "48", description = "Tokens per stream. Default: ${DEFAULT-VALUE}.")
        int decodeTokens;

        @Mixin
        BackendOptions backend;

        @Override
        public Integer call() throws Exception {
            Path dir = models.resolve();
            dev.tessera.deploy.bench.ServingBench.Figures f = dev.tessera.deploy.bench.ServingBench.run(dir, backend.factory(),
                    backend.describe(), new dev.tessera.deploy.bench.ServingBench.Options(stages, streams, promptTokens, decodeTokens),
                    System.out::println);
            System.out.println();
            System.out.printf(Locale.ROOT, "machine: %s, %d cores; %s; model %s; backend %s%n", Engine.cpuModel(),
                    Runtime.getRuntime().availableProcessors(), LocalDate.now(), dir.getFileName(), backend.describe());
            System.out.println("| measure | value |");
            System.out.println("|---|---|");
            System.out.printf(Locale.ROOT, "| engine in one process, %d stages, batch %d | %.2f decode tokens/s |%n", stages, streams, f.engineTokensPerSecond());
            System.out.printf(Locale.ROOT, "| cluster over gRPC, %d workers, %d streams | %.2f decode tokens/s |%n", stages, streams, f.clusterTokensPerSecond());
            System.out.printf(Locale.ROOT, "| serving overhead ratio (cluster / engine) | %.2f |%n", f.ratio());
            return 0;
        }
    }

    @Command(name = "sim-calibration", mixinStandardHelpOptions = true,
            description = {"Calibrates the latency model of simulated workers (--backend sim): times engine steps of a "
                    + "few shapes (decode batches, prefills, a mix) and fits a + b*tokens + c*sequences milliseconds to "
                    + "them by least squares on relative error. Prints each step, the fit and the --sim-latency flag. "
                    + "Without --model, a synthetic checkpoint of --preset (cut to --layers) is written once under "
                    + "models/ and reused."})
    public static final class SimCalibration implements Callable<Integer> {

        @Mixin
        BenchModelOptions models;

        @Option(names = "--repeats", defaultValue = "5", description = "Timed runs per shape (the fastest counts). Default: ${DEFAULT-VALUE}.")
        int repeats;

        @Mixin
        BackendOptions backend;

        @Override
        public Integer call() throws Exception {
            Path dir = models.resolve();
            ModelConfig config = ModelConfig.load(dir);
            List<LatencyCalibration.Shape> shapes = LatencyCalibration.DEFAULT_SHAPES;
            int blockSize = 16, blocks = 0;
            for (LatencyCalibration.Shape s : shapes)
                blocks = Math.max(blocks, s.sequences() * ((s.start() + s.tokensPerSequence() + blockSize - 1) / blockSize));
            try (Checkpoint ckpt = Checkpoint.open(dir);
                 LocalPipeline pipeline = LocalPipeline.load(ckpt, config, 1, blocks, blockSize, backend.factory())) {
                System.out.printf(Locale.ROOT, "model %s: %d layers, hidden %d, %d experts, vocab %d; backend %s%n", dir,
                        config.numLayers(), config.hiddenSize(), config.numExperts(), config.vocabSize(), backend.describe());
                List<LatencyCalibration.Sample> samples = LatencyCalibration.measure(pipeline, new BlockPool(blocks, blockSize),
                        config.vocabSize(), shapes, repeats, System.out::println);
                String source = String.format(Locale.ROOT, "calibrated from the %s engine on %s, %d layers, %s, %s",
                        backend.describe(), dir.getFileName(), config.numLayers(), Engine.cpuModel(), LocalDate.now());
                LatencyCalibration.Fit fit = LatencyCalibration.fit(samples, source);
                System.out.println();
                fit.table().forEach(System.out::println);
                System.out.printf(Locale.ROOT, "error: %.1f%% rms, %.1f%% at most%n", 100 * fit.rmsRelativeError(), 100 * fit.maxRelativeError());
                System.out.println(fit.model().describe());
                System.out.println("--sim-latency " + fit.model().flag());
            }
            return 0;
        }
    }
}
