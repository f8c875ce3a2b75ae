package dev.tessera.worker.serve;

import dev.tessera.proto.v1.StageEndpoint;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import java.util.concurrent.TimeUnit;

/**
 * Opens the channel a stage uses to reach the next stage of a route. A stage opens one per Forward stream it relays
 * and shuts it down when that stream ends. Tests pass one that opens in-process channels.
 */
@FunctionalInterface
public interface StageChannels {

    ManagedChannel open(StageEndpoint next);

    /**
     * Plaintext gRPC to {@code StageEndpoint.address} ("host:port") over the default transport (Netty), with HTTP/2
     * keepalive pings so that a next stage whose host vanished (no TCP reset) is noticed within seconds.
     */
    static StageChannels plaintext() {
        return next -> ManagedChannelBuilder.forTarget(next.getAddress()).usePlaintext()
                .keepAliveTime(KEEPALIVE_SECONDS, TimeUnit.SECONDS).keepAliveTimeout(KEEPALIVE_SECONDS, TimeUnit.SECONDS)
                .build();
    }

    /** Interval of the keepalive pings between stages; every stage's server permits pings this often. */
    int KEEPALIVE_SECONDS = 10;
}
