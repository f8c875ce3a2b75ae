package dev.tessera.worker.backend;

import dev.tessera.worker.backend.Backend.Experts;
import dev.tessera.worker.backend.Backend.Matrix;
import dev.tessera.worker.checkpoint.Tensor;

/**
 * A backend that can make random weights where it computes, so that a benchmark can build a full-size model (61 GB
 * for gpt-oss-120b) without a file of that size or the time to copy one. Only the large tensors are generated there;
 * vectors and biases are small and come from the host as ordinary tensors.
 */
public interface WeightGenerator {

    /** A bf16 matrix {@code [rows, cols]} of values uniform in {@code [-scale, scale)}, from a hash of (seed, index). */
    Matrix uniformMatrix(long seed, int rows, int cols, float scale);

    /**
     * MXFP4 experts with uniformly random E2M1 codes, and E8M0 scales uniform in {@code base − 1 .. base + 1} (the
     * gate_up base for W1, the down base for W2), with the given bf16 biases {@code [count, 2·intermediate]} and
     * {@code [count, hidden]}.
     */
    Experts randomExperts(long seed, int count, int intermediate, int hidden, int gateUpScaleBase, int downScaleBase,
                          Tensor gateUpBias, Tensor downBias);
}
