package dev.tessera.coordinator;

import dev.tessera.coordinator.engine.ReplicaSet;
import dev.tessera.coordinator.openai.GatewayConfig;
import dev.tessera.proto.zk.ZkLayout;
import java.time.Duration;

/**
 * How a coordinator runs.
 *
 * @param coordinatorId    unique id among the cluster's coordinators; null: "host:port" of its bound server
 * @param host             address its gRPC server binds and advertises
 * @param port             its gRPC port (0: any free port)
 * @param zkConnect        ZooKeeper connect string
 * @param layout           the cluster's root in ZooKeeper
 * @param limits           per-replica scheduling limits
 * @param maxLive          most unfinished requests; beyond that, RESOURCE_EXHAUSTED
 * @param zkSessionTimeout ZooKeeper session timeout: how long a silent coordinator keeps leadership
 * @param startTimeout     how long start-up waits for ZooKeeper before giving up with a message
 * @param http             the OpenAI-compatible HTTP API, or null to serve gRPC only
 */
public record CoordinatorConfig(String coordinatorId, String host, int port, String zkConnect, ZkLayout layout,
                                ReplicaSet.Limits limits, int maxLive, Duration zkSessionTimeout, Duration startTimeout,
                                GatewayConfig http) {

    public static final int DEFAULT_PORT = 50051;

    public CoordinatorConfig {
        if (host == null || host.isBlank()) throw new IllegalArgumentException("host must be set");
        if (port < 0 || port > 65535) throw new IllegalArgumentException("port must be 0..65535, got " + port);
        if (zkConnect == null || zkConnect.isBlank()) throw new IllegalArgumentException("a ZooKeeper connect string is required");
        if (maxLive < 1) throw new IllegalArgumentException("maxLive must be >= 1, got " + maxLive);
    }

    /** Defaults: 127.0.0.1:50051, root /tessera, 10 s ZooKeeper session, 30 s to reach ZooKeeper. */
    public static CoordinatorConfig of(String zkConnect) {
        return new CoordinatorConfig(null, "127.0.0.1", DEFAULT_PORT, zkConnect, ZkLayout.DEFAULT, ReplicaSet.Limits.DEFAULT,
                4096, Duration.ofSeconds(10), Duration.ofSeconds(30), null);
    }

    public CoordinatorConfig withAddress(String host, int port) {
        return new CoordinatorConfig(null, host, port, zkConnect, layout, limits, maxLive, zkSessionTimeout, startTimeout, http);
    }

    public CoordinatorConfig withId(String id) {
        return new CoordinatorConfig(id, host, port, zkConnect, layout, limits, maxLive, zkSessionTimeout, startTimeout, http);
    }

    public CoordinatorConfig withLayout(ZkLayout layout) {
        return new CoordinatorConfig(coordinatorId, host, port, zkConnect, layout, limits, maxLive, zkSessionTimeout, startTimeout, http);
    }

    public CoordinatorConfig withLimits(ReplicaSet.Limits limits, int maxLive) {
        return new CoordinatorConfig(coordinatorId, host, port, zkConnect, layout, limits, maxLive, zkSessionTimeout, startTimeout, http);
    }

    /** Serves the OpenAI-compatible HTTP API as well (null: gRPC only). */
    public CoordinatorConfig withHttp(GatewayConfig http) {
        return new CoordinatorConfig(coordinatorId, host, port, zkConnect, layout, limits, maxLive, zkSessionTimeout, startTimeout, http);
    }

    public CoordinatorConfig withSessionTimeout(Duration timeout) {
        return new CoordinatorConfig(coordinatorId, host, port, zkConnect, layout, limits, maxLive, timeout, startTimeout, http);
    }
}
