package dev.tessera.worker.engine;

import dev.tessera.worker.backend.Backend;
import dev.tessera.worker.backend.Backend.Experts;
import dev.tessera.worker.backend.Backend.Matrix;
import dev.tessera.worker.backend.Backend.Vec;
import dev.tessera.worker.checkpoint.Checkpoint;
import dev.tessera.worker.checkpoint.DType;

/** Weights read from a mapped checkpoint, each tensor's dtype and shape checked as it is bound to the backend. */
public record CheckpointWeights(Checkpoint checkpoint, Backend backend) implements WeightSource {

    @Override
    public Matrix matrix(String name, int rows, int cols) {
        return backend.matrix(checkpoint.tensor(name, DType.BF16, rows, cols));
    }

    @Override
    public Vec vec(String name, int size) {
        return backend.vec(checkpoint.tensor(name, DType.BF16, size));
    }

    @Override
    public Experts experts(String prefix, int count, int intermediate, int hidden) {
        long e = count, i = intermediate, h = hidden;
        return backend.experts(
                checkpoint.tensor(prefix + "gate_up_proj_blocks", DType.U8, e, 2 * i, h / 32, 16),
                checkpoint.tensor(prefix + "gate_up_proj_scales", DType.U8, e, 2 * i, h / 32),
                checkpoint.tensor(prefix + "gate_up_proj_bias", DType.BF16, e, 2 * i),
                checkpoint.tensor(prefix + "down_proj_blocks", DType.U8, e, h, i / 32, 16),
                checkpoint.tensor(prefix + "down_proj_scales", DType.U8, e, h, i / 32),
                checkpoint.tensor(prefix + "down_proj_bias", DType.BF16, e, h));
    }
}
