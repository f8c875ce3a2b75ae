package dev.tessera.coordinator.engine;

import io.grpc.Channel;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/**
 * One gRPC channel per stage address, shared by every stream to it and closed with the coordinator. Plaintext:
 * stages are on the cluster's private network.
 */
public final class StageChannels implements Function<String, Channel>, AutoCloseable {

    private final ConcurrentHashMap<String, ManagedChannel> channels = new ConcurrentHashMap<>();

    @Override
    public Channel apply(String address) {
        return channels.computeIfAbsent(address, a -> NettyChannelBuilder.forTarget(a).usePlaintext()
                // hidden states of a large prefill chunk: 2048 tokens x 2880 floats is 23.6 MB
                .maxInboundMessageSize(256 << 20)
                .keepAliveTime(30, TimeUnit.SECONDS)
                .build());
    }

    @Override
    public void close() {
        channels.values().forEach(ManagedChannel::shutdownNow);
        for (ManagedChannel c : channels.values()) {
            try {
                c.awaitTermination(2, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
        channels.clear();
    }
}
