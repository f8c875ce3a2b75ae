package dev.tessera.deploy.cli;

import dev.tessera.worker.backend.Backend;
import dev.tessera.worker.backend.cuda.CudaBackend;
import dev.tessera.worker.bench.EngineBench;
import dev.tessera.worker.checkpoint.SyntheticCheckpoint;
import dev.tessera.worker.engine.SyntheticWeights;
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
import java.util.function.Supplier;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "bench", mixinStandardHelpOptions = true, description = "Benchmarks.", subcommands = {BenchCommand.Engine.class, BenchCommand.Serving.class, BenchCommand.SimCalibration.class})
public final class BenchCommand {

    @Command(name = "engine", mixinStandardHelpOptions = true,
            description = {"The engine's own speed in one process: prefill tokens/s, decode tokens/s at each batch size, "
                    + "the weight bytes each decode step streams, and the bandwidth of the memory they stream from "
                    + "measured in the same run, so every batch size is stated as a fraction of its own ceiling. "
                    + "Without --model, the CPU backends write a synthetic checkpoint of --preset (cut to --layers) once "
                    + "under models/ and reuse it; --backend cuda generates the preset's weights on the device instead "
                    + "(every layer unless --layers cuts it), so the full gpt-oss-120b shape needs no 61 GB file."})
    public static final class Engine implements Callable<Integer> {

        @Mixin
        BenchModelOptions models;

        @Option(names = "--batches", split = ",",
                description = "Decode batch sizes. Default: 1,16 on the CPU, 1,8,64,256 with --backend cuda.")
        List<Integer> batches;

        @Option(names = "--prefill-tokens", description = "Prompt length for prefill. Default: 128 on the CPU, 2048 with --backend cuda.")
        Integer prefillTokens;

        @Option(names = "--decode-steps", defaultValue = "16", description = "Timed decode steps per batch size. Default: ${DEFAULT-VALUE}.")
        int decodeSteps;

        @Option(names = "--bandwidth-bytes", defaultValue = "1073741824",
                description = "Buffer read (or, on a GPU, copied) to measure memory bandwidth. Default: ${DEFAULT-VALUE}.")
        long bandwidthBytes;

        @Mixin
        BackendOptions backend;

        @Override
        public Integer call() throws Exception {
            boolean cuda = backend.cuda();
            EngineBench.Options options = new EngineBench.Options(
                    prefillTokens != null ? prefillTokens : cuda ? 2048 : 128, decodeSteps,
                    batches != null ? batches : cuda ? List.of(1, 8, 64, 256) : List.of(1, 16), 16);
            Supplier<Backend> backends = backend.factory();
            int threads = backend.threads > 0 ? backend.threads : Runtime.getRuntime().availableProcessors();
            EngineBench.MemoryProbe memory = cuda ? deviceMemory(backends, bandwidthBytes)
                    : EngineBench.hostMemory(bandwidthBytes, threads);
            EngineBench.Figures f;
            ModelConfig config;
            String machine;
            if (cuda && models.generated()) {
                SyntheticCheckpoint.Shape shape = models.generatedShape();
                config = ModelConfig.parse(SyntheticCheckpoint.config(shape));
                System.out.printf(Locale.ROOT, "model %s shape, weights generated on the device (seed %d): %d layers, hidden %d, "
                                + "%d experts, vocab %d, %.2f GB of weights; backend %s%n", models.preset, shape.seed(),
                        config.numLayers(), config.hiddenSize(), config.numExperts(), config.vocabSize(),
                        shape.totalBytes() / 1e9, backend.describe());
                f = EngineBench.run(b -> SyntheticWeights.on(b, shape.seed()), config, backends, options, memory, System.out::println);
                machine = deviceName(backends);
            } else {
                Path dir = models.resolve();
                config = ModelConfig.load(dir);
                try (Checkpoint ckpt = Checkpoint.open(dir)) {
                    System.out.printf(Locale.ROOT, "model %s: %d layers, hidden %d, %d experts, vocab %d, %.2f GB of weights; backend %s%n",
                            dir, config.numLayers(), config.hiddenSize(), config.numExperts(), config.vocabSize(),
                            ckpt.totalBytes() / 1e9, backend.describe());
                    f = EngineBench.run(ckpt, config, backends, options, memory, System.out::println);
                }
                machine = cuda ? deviceName(backends) : cpuModel() + ", " + Runtime.getRuntime().availableProcessors() + " cores";
            }
            System.out.println();
            System.out.printf(Locale.ROOT, "machine: %s; %s%n", machine, LocalDate.now());
            System.out.println("| measure | value |");
            System.out.println("|---|---|");
            System.out.printf(Locale.ROOT, "| %s | %.2f GB/s |%n", memory.describe(), f.memoryBytesPerSecond() / 1e9);
            System.out.printf(Locale.ROOT, "| prefill, %d-token prompt | %.1f tokens/s |%n", options.prefillTokens(), f.prefillTokensPerSecond());
            for (EngineBench.Decode d : f.decode())
                System.out.printf(Locale.ROOT, "| decode, batch %d | %.2f tokens/s; %.1f MB of weights a step, ceiling %.0f tokens/s: "
                                + "%.0f%% of it |%n", d.batch(), d.tokensPerSecond(), d.weightBytesPerStep() / 1e6,
                        d.ceilingTokensPerSecond(f.memoryBytesPerSecond()),
                        100 * d.tokensPerSecond() / d.ceilingTokensPerSecond(f.memoryBytesPerSecond()));
            return 0;
        }

        /** The device's copy bandwidth, measured on a backend of its own after the bench's. */
        private static EngineBench.MemoryProbe deviceMemory(Supplier<Backend> backends, long bytes) {
            return new EngineBench.MemoryProbe() {
                public String describe() { return "device memory, copy bandwidth (read + write)"; }
                public double bytesPerSecond() {
                    try (CudaBackend b = (CudaBackend) backends.get()) {
                        return b.copyBandwidth(bytes, 10);
                    }
                }
            };
        }

        private static String deviceName(Supplier<Backend> backends) {
            try (Backend b = backends.get()) {
                return b.name();
            }
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
