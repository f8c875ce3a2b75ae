package dev.tessera.client;

/** A Generate call in progress, started by {@link TesseraClient#generate(dev.tessera.proto.v1.GenerateRequest, GenerationListener)}. */
public interface Generation {

    /**
     * Cancels the call: the server sees the cancellation, stops generating and frees the request's KV blocks. The
     * listener then gets {@code onError} with status CANCELLED, unless the call already ended (then this does
     * nothing). A call still waiting for a leader coordinator is withdrawn. Safe from any thread, any number of times.
     */
    void cancel();

    /** True once the listener got its last callback ({@code onComplete} or {@code onError}). */
    boolean isDone();
}
