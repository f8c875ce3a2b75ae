package dev.tessera.worker.engine;

import dev.tessera.worker.backend.Backend.Experts;
import dev.tessera.worker.backend.Backend.Matrix;
import dev.tessera.worker.backend.Backend.Vec;

/**
 * Where a shard's weights come from, asked for by their Hugging Face names and shapes (gpt-oss.md §3.2): a mapped
 * checkpoint ({@link CheckpointWeights}), or weights a backend generates where it computes ({@link SyntheticWeights},
 * for benchmarks of shapes no file on the machine holds). The handles belong to the backend the source was made for.
 */
public interface WeightSource {

    /** A bf16 matrix {@code [rows, cols]}. */
    Matrix matrix(String name, int rows, int cols);

    /** A bf16 vector of {@code size}. */
    Vec vec(String name, int size);

    /**
     * The MXFP4 experts under {@code prefix} (for example {@code model.layers.3.mlp.experts.}): gate_up and down
     * blocks, scales and biases.
     */
    Experts experts(String prefix, int count, int intermediate, int hidden);
}
