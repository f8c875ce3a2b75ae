package dev.tessera.deploy.cli;

import dev.tessera.worker.backend.Backend;
import dev.tessera.worker.backend.CpuBackend;
import dev.tessera.worker.backend.ScalarBackend;
import dev.tessera.worker.backend.cuda.Cuda;
import dev.tessera.worker.backend.cuda.CudaBackend;
import dev.tessera.worker.backend.cuda.CudaException;
import dev.tessera.worker.sim.LatencyModel;
import dev.tessera.worker.sim.Simulation;
import java.nio.file.Path;
import java.util.function.Supplier;
import picocli.CommandLine.Option;

/**
 * Which backend computes, shared by the commands that run the engine. {@code sim} is not a backend but simulated
 * stages (no weights, no math, paced by a latency model): only the serving commands ({@code worker}, {@code up})
 * take it, through {@link #simulation(Path)}; {@link #factory()} refuses it.
 */
public final class BackendOptions {

    @Option(names = "--backend", defaultValue = "cpu",
            description = "cpu (Vector API, multi-threaded), scalar (plain loops, the reference), cuda (the first NVIDIA "
                    + "GPU), or sim (worker and "
                    + "up only: simulated stages that read no weights and do no math; each step takes the time of "
                    + "--sim-latency and yields deterministic stand-in tokens; everything measured is SIMULATED). "
                    + "Default: ${DEFAULT-VALUE}.")
    String backend;

    @Option(names = "--threads", defaultValue = "0",
            description = "CPU threads per backend; 0 uses every core. Default: ${DEFAULT-VALUE}.")
    int threads;

    @Option(names = "--cuda-library", paramLabel = "PATH",
            description = "With --backend cuda: the CUDA library to load instead of the one packaged with Tessera (or named "
                    + "by " + Cuda.LIBRARY_ENV + ").")
    Path cudaLibrary;

    @Option(names = "--gpu-memory-share", paramLabel = "FRACTION",
            description = "With --backend cuda: the share of the GPU's memory this process's workers may use for weights, "
                    + "KV cache and step buffers. Give each process its share when several share a GPU (two workers: 0.45 "
                    + "each). Default: 0.9, divided among the workers of `up`.")
    Double gpuMemoryShare;

    @Option(names = "--activations", paramLabel = "fp32|bf16", defaultValue = "fp32",
            description = "Precision of activations and the KV cache: fp32 (every backend; the mode verification runs in). "
                    + "bf16 is the planned fast mode of the CUDA backend and is not built yet. Default: ${DEFAULT-VALUE}.")
    String activations;

    @Option(names = "--sim-latency", paramLabel = "A,B,C",
            description = "With --backend sim: a step of the whole model takes A ms + B ms per token + C ms per sequence "
                    + "(a stage takes the share of layers it holds). Default: calibrated from the CPU engine (see "
                    + "docs/BENCHMARKS.md).")
    String simLatency;

    @Option(names = "--sim-preset", paramLabel = "NAME",
            description = "With --backend sim and no --model: the model shape to simulate (gpt-oss-120b, gpt-oss-20b, demo "
                    + "or tiny). Default: " + Simulation.DEFAULT_PRESET + ".")
    String simPreset;

    /** Whether {@code --backend cuda} was chosen. */
    public boolean cuda() { return "cuda".equals(backend); }

    /** Whether {@code --backend sim} was chosen. */
    public boolean simulated() { return "sim".equals(backend); }

    /**
     * The simulation {@code --backend sim} asks for, or null for a backend that computes.
     *
     * @param model the command's {@code --model}, or null
     * @throws IllegalArgumentException when a {@code --sim-*} flag is given without {@code --backend sim}, is
     *                                  malformed, or {@code --sim-preset} comes with a {@code --model}
     */
    public Simulation simulation(Path model) {
        if (!simulated()) {
            if (simLatency != null || simPreset != null)
                throw new IllegalArgumentException("--sim-latency and --sim-preset apply to --backend sim only");
            return null;
        }
        if (simPreset != null && model != null)
            throw new IllegalArgumentException("give --model or --sim-preset, not both: a simulated worker takes its shape "
                    + "from one of them");
        LatencyModel latency = simLatency == null ? LatencyModel.DEFAULT : LatencyModel.parse(simLatency, "given with --sim-latency");
        return new Simulation(latency, simPreset);
    }

    /** A factory of fresh backends (one per stage); fails at once, in one sentence, for a backend that cannot run. */
    public Supplier<Backend> factory() { return factory(1); }

    /**
     * As {@link #factory()}, for {@code workersPerDevice} workers of this process on one GPU: without
     * {@code --gpu-memory-share} each CUDA backend takes an equal part of the default share.
     */
    public Supplier<Backend> factory(int workersPerDevice) {
        if (gpuMemoryShare != null && !"cuda".equals(backend))
            throw new IllegalArgumentException("--gpu-memory-share applies to --backend cuda only");
        if (gpuMemoryShare != null && !(gpuMemoryShare > 0 && gpuMemoryShare <= 1))
            throw new IllegalArgumentException("--gpu-memory-share is a fraction in (0, 1], got " + gpuMemoryShare);
        double share = gpuMemoryShare != null ? gpuMemoryShare / Math.max(1, workersPerDevice)
                : CudaBackend.DEFAULT_MEMORY_SHARE / Math.max(1, workersPerDevice);
        int n = threads > 0 ? threads : Runtime.getRuntime().availableProcessors();
        if (cudaLibrary != null && !"cuda".equals(backend))
            throw new IllegalArgumentException("--cuda-library applies to --backend cuda only");
        switch (activations) {
            case "fp32" -> {}
            case "bf16" -> throw new IllegalArgumentException("bf16 activations are not built yet: every backend computes "
                    + "activations and the KV cache in float32 (--activations fp32)");
            default -> throw new IllegalArgumentException("unknown --activations '" + activations + "': use fp32 or bf16");
        }
        return switch (backend) {
            case "cpu" -> () -> new CpuBackend(n);
            case "scalar" -> ScalarBackend::new;
            case "cuda" -> {
                Cuda cuda = cudaLibrary();
                yield () -> new CudaBackend(cuda, 0, share);
            }
            case "sim" -> throw new IllegalArgumentException(
                    "--backend sim simulates serving stages (worker, up) and computes nothing; this command needs cpu or scalar");
            default -> throw new IllegalArgumentException("unknown backend '" + backend + "': use cpu, scalar, cuda or sim");
        };
    }

    /** The CUDA library, checked to have a device; a missing one fails at once, in one sentence. */
    private Cuda cudaLibrary() {
        Cuda.Availability a = cudaLibrary != null ? Cuda.availability(cudaLibrary) : Cuda.availability();
        if (!a.available()) throw new IllegalArgumentException("--backend cuda needs an NVIDIA GPU: " + a.reason());
        try {
            return cudaLibrary != null ? Cuda.open(cudaLibrary) : Cuda.load();
        } catch (CudaException e) {
            throw new IllegalArgumentException("--backend cuda needs an NVIDIA GPU: " + e.getMessage());
        }
    }

    public String describe() {
        if (simulated()) return "sim (no model math)";
        return backend + (backend.equals("cpu") ? " (" + (threads > 0 ? threads : Runtime.getRuntime().availableProcessors()) + " threads)" : "");
    }
}
