package dev.tessera.client;

import dev.tessera.proto.v1.GenerateResponse;
import io.grpc.StatusRuntimeException;

/**
 * Receives one Generate call's messages. Calls come one at a time, in order, on a gRPC thread (or, while the client
 * waits for a leader, on the client's own); they must not block. Exactly one of {@link #onComplete} and
 * {@link #onError} ends the call.
 */
public interface GenerationListener {

    /** One message of the stream: the tokens (and text) generated since the previous one. The final one comes too. */
    void onChunk(GenerateResponse chunk);

    /**
     * The stream ended with its final message and status OK. The completion's finish reason may be ERROR or
     * CANCELLED (the server gave up on the request), with the reason in {@link Completion#error()}.
     */
    void onComplete(Completion completion);

    /**
     * The call failed: the server's status and description as it sent them (INVALID_ARGUMENT, NOT_FOUND,
     * UNAVAILABLE, RESOURCE_EXHAUSTED...), DEADLINE_EXCEEDED, CANCELLED after {@link Generation#cancel()}, or
     * INTERNAL when the server broke the stream contract.
     */
    void onError(StatusRuntimeException error);
}
