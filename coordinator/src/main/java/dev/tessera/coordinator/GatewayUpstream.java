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
    private volatile ManagedChannel leaderChannel;  // written under this; read without it on the leader's path
    private String leaderAddress;          // the address leaderChannel goes to

    GatewayUpstream(ClusterView cluster, Channel self) {
        this.cluster = cluster;
        this.self = self;
    }

    @Override
    public Channel channel() throws ApiError.Refusal {
        if (cluster.replicaSet() != null) {
            // This coordinator leads now: the way to a former leader is no longer needed (a volatile read per request).
            if (leaderChannel != null) dropLeaderChannel(0);
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

    /** Shuts the channel to the former leader down; calls still on it may finish within {@code grace}. */
    private synchronized void dropLeaderChannel(long graceMillis) {
        ManagedChannel old = leaderChannel;
        leaderChannel = null;
        leaderAddress = null;
        if (old == null) return;
        old.shutdown();
        if (graceMillis == 0) return;
        try {
            if (!old.awaitTermination(graceMillis, TimeUnit.MILLISECONDS)) old.shutdownNow();
        } catch (InterruptedException e) {
            old.shutdownNow();
            Thread.currentThread().interrupt();
        }
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
    public void close() { dropLeaderChannel(2_000); }
}
