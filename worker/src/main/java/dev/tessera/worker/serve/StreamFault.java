package dev.tessera.worker.serve;

import io.grpc.Status;

/**
 * A stream-level fault (pipeline.proto, "Stream lifetime and fencing"): the Forward stream is closed with
 * {@link #status()}, whose description says what was wrong and what to do.
 */
final class StreamFault extends Exception {

    private final Status status;

    StreamFault(Status status) {
        super(status.getCode() + ": " + status.getDescription(), null, false, false);
        this.status = status;
    }

    Status status() { return status; }

    static StreamFault invalid(String description) { return new StreamFault(Status.INVALID_ARGUMENT.withDescription(description)); }

    static StreamFault precondition(String description) {
        return new StreamFault(Status.FAILED_PRECONDITION.withDescription(description));
    }

    static StreamFault unavailable(String description) { return new StreamFault(Status.UNAVAILABLE.withDescription(description)); }
}
