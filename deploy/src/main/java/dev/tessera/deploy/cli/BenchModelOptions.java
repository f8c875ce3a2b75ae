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

    @Option(names = "--layers", description = "Layers of the synthetic preset. Default: 2 for a checkpoint written to disk; "
            + "every layer of the preset for weights generated on a CUDA device.")
    Integer layers;

    /** The checkpoint directory, writing the synthetic one first if it is not there yet. */
    Path resolve() throws IOException {
        int n = layers != null ? layers : 2;
        return model != null ? model : Models.ensureSynthetic(Models.directory().resolve("bench-" + preset + "-" + n + "l"),
                SyntheticCheckpoint.preset(preset).withLayers(n), System.err);
    }

    /** Whether weights are to be generated where the backend computes: no --model given. */
    boolean generated() { return model == null; }

    /** The preset's shape, whole unless --layers cuts it, for weights generated on the device. */
    SyntheticCheckpoint.Shape generatedShape() {
        SyntheticCheckpoint.Shape shape = SyntheticCheckpoint.preset(preset);
        return layers != null ? shape.withLayers(layers) : shape;
    }
}
