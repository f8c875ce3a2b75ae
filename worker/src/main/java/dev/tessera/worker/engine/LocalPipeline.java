package dev.tessera.worker.engine;

import dev.tessera.worker.backend.Backend;
import dev.tessera.worker.checkpoint.Checkpoint;
import dev.tessera.worker.model.ModelConfig;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * A replica's stages in one process: each step runs through the shards in order, and hidden states cross each
 * boundary as the bytes a network link would carry. Used by verification, the engine benchmark and the demo.
 */
public final class LocalPipeline implements AutoCloseable {

    private final List<ModelShard> shards;
    private final List<Backend> backends;

    private LocalPipeline(List<ModelShard> shards, List<Backend> backends) {
        this.shards = List.copyOf(shards);
        this.backends = List.copyOf(backends);
    }

    /** Splits the model's layers evenly over {@code stages} shards, each on its own backend. */
    public static LocalPipeline load(Checkpoint ckpt, ModelConfig config, int stages, int kvBlocks, int kvBlockSize,
                                     Supplier<Backend> backendFactory) {
        return load(b -> new CheckpointWeights(ckpt, b), config, stages, kvBlocks, kvBlockSize, backendFactory);
    }

    /**
     * Splits the model's layers evenly over {@code stages} shards, each on its own backend, binding each shard's
     * weights from the source {@code weights} makes for that backend.
     */
    public static LocalPipeline load(Function<Backend, WeightSource> weights, ModelConfig config, int stages,
                                     int kvBlocks, int kvBlockSize, Supplier<Backend> backendFactory) {
        List<ModelShard> shards = new ArrayList<>();
        List<Backend> backends = new ArrayList<>();
        try {
            for (ShardSpec spec : ShardSpec.split(config.numLayers(), stages, kvBlocks, kvBlockSize)) {
                Backend b = backendFactory.get();
                backends.add(b);
                shards.add(ModelShard.load(weights.apply(b), config, spec, b));
            }
        } catch (RuntimeException | Error e) {
            // NOTE: a backend may hold device memory; one that was made must be closed even if a later stage fails.
            shards.forEach(ModelShard::close);
            backends.forEach(Backend::close);
            throw e;
        }
        return new LocalPipeline(shards, backends);
    }

    public List<ModelShard> shards() { return shards; }

    public ModelConfig config() { return shards.getFirst().config(); }

    /** Runs a step through every stage; the result is the last stage's output, with the traces of all stages merged. */
    public ShardOutput run(ShardStep step) {
        ShardStep current = step;
        Map<Integer, float[]> trace = step.trace() ? new HashMap<>() : null;
        ShardOutput out = null;
        for (ModelShard shard : shards) {
            out = shard.forward(current);
            if (trace != null) trace.putAll(out.trace());
            if (!shard.isLast()) current = current.withHidden(out.hidden());
        }
        return new ShardOutput(out.hidden(), out.logits(), out.logitRows(), out.sampled(), trace);
    }

    @Override
    public void close() {
        shards.forEach(ModelShard::close);
        backends.forEach(Backend::close);
    }
}
