package dev.tessera.worker.backend;

/**
 * The backend's device can no longer compute: a CUDA context corrupted by a fault (an illegal address, a failed
 * launch, an uncorrectable ECC error). Every later op fails the same way and no retry helps, so the stage stops
 * serving, leaves the cluster (its requests move to other replicas) and its process exits to be restarted.
 */
public class BackendLostException extends RuntimeException {

    public BackendLostException(String message) {
        super(message);
    }
}
