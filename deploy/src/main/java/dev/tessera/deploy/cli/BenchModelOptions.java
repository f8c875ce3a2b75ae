package dev.tessera.deploy.cli;

import dev.tessera.worker.checkpoint.SyntheticCheckpoint;
import java.io.IOException;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/** The model a benchmark runs on: a checkpoint directory, or a synthetic preset written once under models/. */
public final class BenchModelOptions {

    @Option(names = "--model", description = "Checkpoint directory.")
    Path model;

    @Option(names = "--preset", defaultValue = "gpt-oss-20b",
            description = "Synthetic shape when no --model is given. Default: ${DEFAULT-VALUE}.")
    String preset;

    @Option(names = "--layers", defaultValue = "2", description = "Layers of the synthetic preset. Default: ${DEFAULT-VALUE}.")
    int layers;

    /** The checkpoint directory, writing the synthetic one first if it is not there yet. */
    Path resolve() throws IOException {
        return model != null ? model : Models.ensureSynthetic(Models.directory().resolve("bench-" + preset + "-" + layers + "l"),
                SyntheticCheckpoint.preset(preset).withLayers(layers), System.err);
    }
}
