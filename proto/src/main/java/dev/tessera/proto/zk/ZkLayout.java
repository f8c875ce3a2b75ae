package dev.tessera.proto.zk;

/**
 * Where a Tessera cluster keeps its state in ZooKeeper. Every process of one cluster must use the same root.
 *
 * <pre>
 * {root}/coordinators/latch        Curator LeaderLatch of the coordinators; only the leader schedules
 * {root}/coordinators/epoch        persistent; the newest leader epoch, a decimal number (see {@link #encodeEpoch})
 * {root}/coordinators/leader       ephemeral; the current leader's CoordinatorInfo (protobuf), written once it serves
 * {root}/workers/stage/{workerId}  ephemeral; Curator ServiceDiscovery instances, payload WorkerInfo (protobuf)
 * {root}/config/layers/{workerId}  persistent, optional; "first,last": the layer range of a worker started without one
 * </pre>
 *
 * @param root absolute path of the cluster's root znode, for example {@code /tessera}
 */
public record ZkLayout(String root) {

    /** The root that every command uses unless told otherwise. */
    public static final ZkLayout DEFAULT = new ZkLayout("/tessera");

    /** Name of the ServiceDiscovery service that every worker registers under. */
    public static final String STAGE_SERVICE = "stage";

    public ZkLayout {
        if (root == null || !root.startsWith("/") || root.length() < 2 || root.endsWith("/"))
            throw new IllegalArgumentException("ZooKeeper root must be an absolute path like /tessera, got " + root);
    }

    public String latchPath() { return root + "/coordinators/latch"; }

    public String epochPath() { return root + "/coordinators/epoch"; }

    public String leaderPath() { return root + "/coordinators/leader"; }

    /** Base path of the workers' ServiceDiscovery. */
    public String workersPath() { return root + "/workers"; }

    public String layerConfigPath(String workerId) { return root + "/config/layers/" + workerId; }

    public static byte[] encodeEpoch(long epoch) {
        return Long.toString(epoch).getBytes(java.nio.charset.StandardCharsets.US_ASCII);
    }

    /** Decodes an epoch node; an empty node (as Curator creates parents) is epoch 0. */
    public static long decodeEpoch(byte[] data) {
        if (data == null || data.length == 0) return 0;
        String text = new String(data, java.nio.charset.StandardCharsets.US_ASCII).trim();
        try {
            return Long.parseLong(text);
        } catch (NumberFormatException e) {
            throw new IllegalStateException("the leader epoch node holds \"" + text + "\", not a number", e);
        }
    }
}
