package dev.tessera.coordinator.cluster;

import dev.tessera.proto.zk.ZkLayout;

/**
 * Who a coordinator is in the leader election.
 *
 * @param layout the cluster's ZooKeeper layout
 * @param coordinatorId unique id of this coordinator process, e.g. "host-a:50051"; its LeaderLatch participant id
 * @param address where its Inference service listens, "host:port" (IPv6 hosts in brackets); written to the leader node
 */
public record LeadershipConfig(ZkLayout layout, String coordinatorId, String address) {

    public LeadershipConfig {
        if (layout == null) throw new IllegalArgumentException("a ZooKeeper layout is required");
        if (coordinatorId == null || coordinatorId.isBlank())
            throw new IllegalArgumentException("a coordinator id is required (e.g. host:port of its Inference service)");
        if (!isHostPort(address))
            throw new IllegalArgumentException("the coordinator's address must be host:port (IPv6 in brackets), got " + address);
    }

    static boolean isHostPort(String address) {
        if (address == null) return false;
        int colon = address.lastIndexOf(':');
        if (colon <= 0 || colon == address.length() - 1) return false;
        String host = address.substring(0, colon), port = address.substring(colon + 1);
        boolean bracketed = host.startsWith("[") && host.endsWith("]") && host.length() > 2;
        if (host.isBlank() || host.chars().anyMatch(Character::isWhitespace) || (host.contains(":") && !bracketed)) return false;
        if (!port.chars().allMatch(c -> c >= '0' && c <= '9') || port.length() > 5) return false;
        int p = Integer.parseInt(port);
        return p >= 1 && p <= 65535;
    }
}
