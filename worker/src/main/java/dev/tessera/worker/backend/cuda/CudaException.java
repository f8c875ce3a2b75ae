package dev.tessera.worker.backend.cuda;

/**
 * A failure of the CUDA library: a call that returned a status other than {@code TC_OK}, or a library that cannot be
 * used at all (missing, not loadable, another ABI version).
 *
 * <p>A failed call's message names the function, the status and the library's own line:
 * {@code "tc_alloc failed (TC_OUT_OF_MEMORY): <what tc_last_error() said>"}.
 */
public final class CudaException extends RuntimeException {

    private final Cuda.Status status;

    /** A call that failed with {@code status}. */
    CudaException(String function, Cuda.Status status, String statusName, String detail) {
        super(function + " failed (" + statusName + ")" + (detail == null || detail.isEmpty() ? "" : ": " + detail));
        this.status = status;
    }

    /** A library that cannot be used; {@link #status()} is null. */
    CudaException(String message) {
        super(message);
        this.status = null;
    }

    /** The status the call returned, or null where the failure was not a call's (a library that did not load). */
    public Cuda.Status status() { return status; }
}
