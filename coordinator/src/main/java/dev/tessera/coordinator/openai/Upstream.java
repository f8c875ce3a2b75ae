package dev.tessera.coordinator.openai;

import io.grpc.Channel;

/**
 * Where the gateway sends its requests: the Inference service of the leader coordinator. On the leader that is its
 * own service (in-process); on a standby it is the leader's gRPC address, so a load balancer may send HTTP to any
 * coordinator and every request still reaches the one scheduler.
 */
public interface Upstream {

    /** The channel to the leader's Inference service, or a 503 when no leader is known. */
    Channel channel() throws ApiError.Refusal;

    /** This coordinator's role and readiness, for {@code GET /health}. */
    Health health();

    /**
     * @param ready  whether requests sent here can be served now
     * @param role   "leader" or "standby"
     * @param detail why not ready, or where a standby forwards to
     */
    record Health(boolean ready, String role, String detail) {}
}
