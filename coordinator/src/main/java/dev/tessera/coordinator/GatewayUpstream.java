package dev.tessera.coordinator;

import dev.tessera.coordinator.api.ClusterView;
import dev.tessera.coordinator.engine.ReplicaSet;
import dev.tessera.coordinator.openai.ApiError;
import dev.tessera.coordinator.openai.Upstream;
import io.grpc.Channel;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.util.concurrent.TimeUnit;

/**
 * The HTTP gateway's way to the leader: this coordinator's own Inference service (in-process) while it leads; the
 * leader's gRPC address while it stands by, so HTTP sent to a standby is proxied rather than refused.
 *
 * <p>NOTE: during a handover a request may go to a coordinator that has just stopped leading; its Inference
 * service answers UNAVAILABLE naming the new leader, which the gateway turns into a 503 the client can retry.
 */
final class GatewayUpstream implements Upstream, AutoCloseable {

    private final ClusterView cluster;
    private final Channel self;
    private ManagedChannel leaderChannel;  // guarded by this
    private String leaderAddress;          // the address leaderChannel goes to

    GatewayUpstream(ClusterView cluster, Channel self) {
        this.cluster = cluster;
        this.self = self;
    }

    @Override
    public Channel channel() throws ApiError.Refusal {
        if (cluster.replicaSet() != null) {
            dropLeaderChannel(); // this coordinator leads now: the way to the former leader is no longer needed
            return self;
        }
        String leader = cluster.leaderAddress();
        if (leader == null)
            throw ApiError.unavailable("no coordinator leads the cluster right now (an election is under way); retry shortly").refusal();
        return channelTo(leader);
    }

    private synchronized Channel channelTo(String address) {
        if (!address.equals(leaderAddress)) {
            if (leaderChannel != null) leaderChannel.shutdown(); // calls under way finish on it
            leaderChannel = NettyChannelBuilder.forTarget(address).usePlaintext().build();
            leaderAddress = address;
        }
        return leaderChannel;
    }

    private synchronized void dropLeaderChannel() {
        if (leaderChannel == null) return;
        leaderChannel.shutdown();
        leaderChannel = null;
        leaderAddress = null;
    }

    @Override
    public Health health() {
        ReplicaSet set = cluster.replicaSet();
        if (set != null) {
            if (!set.replicas().isEmpty()) return new Health(true, "leader", set.replicas().size() + " replica(s) ready");
            return new Health(false, "leader", "no replica is ready" + (cluster.problems().isEmpty() ? ""
                    : ": " + String.join("; ", cluster.problems())));
        }
        String leader = cluster.leaderAddress();
        return leader == null ? new Health(false, "standby", "no leader is registered")
                : new Health(true, "standby", "forwarding to the leader at " + leader);
    }

    @Override
    public synchronized void close() {
        if (leaderChannel == null) return;
        leaderChannel.shutdown();
        try {
            if (!leaderChannel.awaitTermination(2, TimeUnit.SECONDS)) leaderChannel.shutdownNow();
        } catch (InterruptedException e) {
            leaderChannel.shutdownNow();
            Thread.currentThread().interrupt();
        }
    }
}
