package dev.tessera.coordinator.cluster;

import com.google.protobuf.InvalidProtocolBufferException;
import dev.tessera.proto.v1.CoordinatorInfo;
import dev.tessera.proto.zk.ZkLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.api.transaction.CuratorOp;
import org.apache.curator.framework.api.transaction.TransactionOp;
import org.apache.zookeeper.CreateMode;
import org.apache.zookeeper.KeeperException;
import org.apache.zookeeper.data.Stat;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The leader epoch (a fencing token) and the leader node in ZooKeeper: reading them, and a leader's claim and
 * release. Stateless; safe to share between threads.
 *
 * <p>Guarantee of {@link #claim}: the epoch it returns is strictly greater than every epoch taken before it, and it
 * is taken only while the caller's latch node exists. The epoch bump (a versioned {@code setData}, i.e. a
 * compare-and-set), the check of the latch node and the replacement of the leader node are one ZooKeeper
 * transaction, so a coordinator whose session expired can neither take an epoch nor overwrite the new leader's node.
 */
public final class EpochFence {

    private static final Logger log = LoggerFactory.getLogger(EpochFence.class);

    /** Claim attempts before giving up; each lost race means another process wrote in between. */
    static final int MAX_ATTEMPTS = 64;

    private final CuratorFramework client;
    private final ZkLayout layout;

    public EpochFence(CuratorFramework client, ZkLayout layout) {
        if (client == null || layout == null) throw new IllegalArgumentException("client and layout are required");
        this.client = client;
        this.layout = layout;
    }

    /** The newest epoch taken in this cluster; 0 when none has been taken yet. */
    public long current() throws Exception {
        try {
            return ZkLayout.decodeEpoch(client.getData().forPath(layout.epochPath()));
        } catch (KeeperException.NoNodeException e) {
            return 0;
        }
    }

    /** The leader as its node names it, or empty when there is none (or the node does not hold a CoordinatorInfo). */
    public Optional<CoordinatorInfo> leader() throws Exception {
        try {
            return parse(client.getData().forPath(layout.leaderPath()));
        } catch (KeeperException.NoNodeException e) {
            return Optional.empty();
        }
    }

    /**
     * Takes the next epoch and writes the ephemeral leader node holding {@code me} with that epoch, replacing a node
     * left by an earlier leader. Blocks for ZooKeeper round trips.
     *
     * @param latchNode the caller's own LeaderLatch node ({@code LeaderLatch.getOurPath()}), which must exist
     * @param me the leader record to write; its epoch is set here
     * @return the record written, or empty when {@code latchNode} no longer exists (the caller is not the leader)
     * @throws IllegalStateException when the epoch node does not hold a number, or after {@value #MAX_ATTEMPTS} lost
     *     races
     */
    public Optional<CoordinatorInfo> claim(String latchNode, CoordinatorInfo me) throws Exception {
        if (latchNode == null) return Optional.empty();
        for (int attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
            Stat epochStat = new Stat();
            byte[] data;
            try {
                data = client.getData().storingStatIn(epochStat).forPath(layout.epochPath());
            } catch (KeeperException.NoNodeException e) {
                createEpochNode();
                continue;
            }
            CoordinatorInfo claimed = me.toBuilder().setEpoch(ZkLayout.decodeEpoch(data) + 1).build();
            Stat leaderStat = client.checkExists().forPath(layout.leaderPath());
            TransactionOp op = client.transactionOp();
            List<CuratorOp> ops = new ArrayList<>(4);
            ops.add(op.check().forPath(latchNode));
            ops.add(op.setData().withVersion(epochStat.getVersion())
                    .forPath(layout.epochPath(), ZkLayout.encodeEpoch(claimed.getEpoch())));
            if (leaderStat != null) ops.add(op.delete().withVersion(leaderStat.getVersion()).forPath(layout.leaderPath()));
            ops.add(op.create().withMode(CreateMode.EPHEMERAL).forPath(layout.leaderPath(), claimed.toByteArray()));
            try {
                client.transaction().forOperations(ops);
                return Optional.of(claimed);
            } catch (KeeperException.BadVersionException | KeeperException.NodeExistsException
                     | KeeperException.NoNodeException e) {
                // Lost a race: another process bumped the epoch or touched the leader node, or our latch node is gone.
                if (client.checkExists().forPath(latchNode) == null) return Optional.empty();
                log.debug("epoch claim attempt {} lost a race ({}); retrying", attempt, e.code());
            }
        }
        throw new IllegalStateException("could not take a leader epoch at " + layout.epochPath() + " after "
                + MAX_ATTEMPTS + " attempts: other processes keep changing it");
    }

    /**
     * Deletes the leader node if it still holds {@code mine} (same coordinator id and epoch); a node written by a
     * later leader is left alone. The delete is versioned, so it cannot remove a node replaced in between.
     *
     * @return whether this call deleted the node
     */
    public boolean release(CoordinatorInfo mine) throws Exception {
        Stat stat = new Stat();
        byte[] data;
        try {
            data = client.getData().storingStatIn(stat).forPath(layout.leaderPath());
        } catch (KeeperException.NoNodeException e) {
            return false;
        }
        Optional<CoordinatorInfo> current = parse(data);
        if (current.isEmpty() || !current.get().getCoordinatorId().equals(mine.getCoordinatorId())
                || current.get().getEpoch() != mine.getEpoch()) return false;
        try {
            client.delete().withVersion(stat.getVersion()).forPath(layout.leaderPath());
            return true;
        } catch (KeeperException.NoNodeException | KeeperException.BadVersionException e) {
            return false;
        }
    }

    /** Decodes a leader node; empty (with a warning) when it is not a valid CoordinatorInfo. */
    static Optional<CoordinatorInfo> parse(byte[] data) {
        if (data == null || data.length == 0) return Optional.empty();
        try {
            CoordinatorInfo info = CoordinatorInfo.parseFrom(data);
            return info.getCoordinatorId().isEmpty() ? Optional.empty() : Optional.of(info);
        } catch (InvalidProtocolBufferException e) {
            log.warn("the leader node does not hold a CoordinatorInfo: {}", e.getMessage());
            return Optional.empty();
        }
    }

    private void createEpochNode() throws Exception {
        try {
            client.create().creatingParentsIfNeeded().withMode(CreateMode.PERSISTENT)
                    .forPath(layout.epochPath(), ZkLayout.encodeEpoch(0));
        } catch (KeeperException.NodeExistsException e) {
            // another coordinator created it first: fine
        }
    }
}
