package dev.tessera.worker.serve;

import dev.tessera.proto.v1.StageEndpoint;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;

/**
 * Opens the channel a stage uses to reach the next stage of a route. A stage opens one per Forward stream it relays
 * and shuts it down when that stream ends. Tests pass one that opens in-process channels.
 */
@FunctionalInterface
public interface StageChannels {

    ManagedChannel open(StageEndpoint next);

    /** Plaintext gRPC to {@code StageEndpoint.address} ("host:port") over the default transport (Netty). */
    static StageChannels plaintext() {
        return next -> ManagedChannelBuilder.forTarget(next.getAddress()).usePlaintext().build();
    }
}
