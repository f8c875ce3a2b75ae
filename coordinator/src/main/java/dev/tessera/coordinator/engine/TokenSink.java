package dev.tessera.coordinator.engine;

import dev.tessera.coordinator.scheduler.Finish;
import dev.tessera.proto.v1.SampledToken;

/**
 * Where a request's tokens go. The engine loop calls it on its own thread, in token order, so an implementation
 * must only hand the tokens on (detokenizing and network writes belong elsewhere: the loop is on the critical path).
 */
public interface TokenSink {

    /** A newly sampled token; {@code index} counts the request's completion tokens from 0. */
    void onToken(SampledToken token, int index);

    /**
     * The request ended; no call follows. {@code stopTokenId} is the stop token for STOP by token (else -1);
     * {@code error} describes ERROR (else null).
     */
    void onFinish(Finish finish, int stopTokenId, String error);
}
