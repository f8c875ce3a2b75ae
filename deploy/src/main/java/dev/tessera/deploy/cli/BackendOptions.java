package dev.tessera.deploy.cli;

import dev.tessera.worker.backend.Backend;
import dev.tessera.worker.backend.CpuBackend;
import dev.tessera.worker.backend.ScalarBackend;
import java.util.function.Supplier;
import picocli.CommandLine.Option;

/** Which backend computes, shared by the commands that run the engine. */
public final class BackendOptions {

    @Option(names = "--backend", defaultValue = "cpu",
            description = "cpu (Vector API, multi-threaded), scalar (plain loops, the reference) or cuda. Default: ${DEFAULT-VALUE}.")
    String backend;

    @Option(names = "--threads", defaultValue = "0",
            description = "CPU threads per backend; 0 uses every core. Default: ${DEFAULT-VALUE}.")
    int threads;

    /** A factory of fresh backends (one per stage); fails at once, in one sentence, for a backend that cannot run. */
    public Supplier<Backend> factory() {
        int n = threads > 0 ? threads : Runtime.getRuntime().availableProcessors();
        return switch (backend) {
            case "cpu" -> () -> new CpuBackend(n);
            case "scalar" -> ScalarBackend::new;
            case "cuda" -> throw new IllegalArgumentException(
                    "the CUDA backend is not part of this build yet; use --backend cpu");
            default -> throw new IllegalArgumentException("unknown backend '" + backend + "': use cpu, scalar or cuda");
        };
    }

    public String describe() {
        return backend + (backend.equals("cpu") ? " (" + (threads > 0 ? threads : Runtime.getRuntime().availableProcessors()) + " threads)" : "");
    }
}
