package dev.tessera.coordinator.cluster;

import static dev.tessera.coordinator.cluster.ZooKeeperFixture.LAYOUT;
import static dev.tessera.coordinator.cluster.ZooKeeperFixture.next;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.proto.v1.CoordinatorInfo;
import dev.tessera.proto.zk.ZkLayout;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import org.apache.curator.framework.CuratorFramework;
import org.apache.zookeeper.CreateMode;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Leader election against a real ZooKeeper: epochs, the leader node, hand-over on close, session loss and suspension. */
class LeadershipTest {

    /** Records listener calls as "leader N" / "standby", and checks they come on one thread. */
    static final class Recorder implements LeadershipListener {
        final BlockingQueue<String> events = new LinkedBlockingQueue<>();
        volatile Thread thread;

        @Override public void onLeader(long epoch) { record("leader " + epoch); }
        @Override public void onStandby() { record("standby"); }

        private void record(String event) {
            if (thread == null) thread = Thread.currentThread();
            events.add(thread == Thread.currentThread() ? event : event + " (on another thread)");
        }

        String next() throws InterruptedException {
            return ZooKeeperFixture.next(events, "leadership event");
        }
    }

    ZooKeeperFixture zk;

    @BeforeEach
    void startZooKeeper() throws Exception {
        zk = new ZooKeeperFixture();
    }

    @AfterEach
    void stopZooKeeper() {
        zk.close();
    }

    Leadership coordinator(CuratorFramework client, String id, Recorder recorder) throws Exception {
        Leadership leadership = zk.track(new Leadership(client, new LeadershipConfig(LAYOUT, id, id + ":50051"), recorder));
        leadership.start();
        return leadership;
    }

    static void assertLeaderNode(EpochFence fence, String id, long epoch) throws Exception {
        CoordinatorInfo leader = fence.leader().orElseThrow(() -> new AssertionError("no leader node"));
        assertEquals(id, leader.getCoordinatorId());
        assertEquals(id + ":50051", leader.getAddress());
        assertEquals(epoch, leader.getEpoch());
        assertTrue(leader.getSince().getSeconds() > 0);
    }

    @Test
    void eachNewLeaderTakesAGreaterEpochAndTheLeaderNodeFollows() throws Exception {
        EpochFence fence = new EpochFence(zk.client(), LAYOUT);
        assertEquals(0, fence.current());
        Recorder r1 = new Recorder(), r2 = new Recorder(), r3 = new Recorder();
        Leadership c1 = coordinator(zk.client(), "c1", r1);
        assertEquals("leader 1", r1.next());
        assertTrue(c1.isLeader());
        assertEquals(1, c1.epoch());
        assertLeaderNode(fence, "c1", 1);

        Leadership c2 = coordinator(zk.client(), "c2", r2);
        assertFalse(c2.isLeader());
        assertEquals(0, c2.epoch());

        c1.close();
        assertEquals("standby", r1.next());
        assertEquals(Leadership.State.CLOSED, c1.state());
        assertFalse(c1.isLeader());
        assertEquals("leader 2", r2.next(), "c2's first event: it never led before c1 left");
        assertLeaderNode(fence, "c2", 2);

        coordinator(zk.client(), "c3", r3);
        c2.close();
        assertEquals("standby", r2.next());
        assertEquals("leader 3", r3.next());
        assertLeaderNode(fence, "c3", 3);
        assertEquals(3, fence.current());
        assertTrue(r1.events.isEmpty() && r2.events.isEmpty(), "no events after close");
    }

    @Test
    void sessionExpiryHandsOverAndTheOldLeaderRejoinsAsStandby() throws Exception {
        EpochFence fence = new EpochFence(zk.client(), LAYOUT);
        CuratorFramework client1 = zk.client();
        Recorder r1 = new Recorder(), r2 = new Recorder();
        coordinator(client1, "c1", r1);
        assertEquals("leader 1", r1.next());
        Leadership c2 = coordinator(zk.client(), "c2", r2);

        client1.getZookeeperClient().getZooKeeper().getTestable().injectSessionExpiration();
        assertEquals("standby", r1.next());
        assertEquals("leader 2", r2.next());
        assertLeaderNode(fence, "c2", 2);

        // c1 got a new session and joined the election again, behind c2.
        c2.close();
        assertEquals("standby", r2.next());
        assertEquals("leader 3", r1.next());
        assertLeaderNode(fence, "c1", 3);
    }

    @Test
    void aSuspendedConnectionStandsDownAtOnceAndANewTermTakesANewEpoch() throws Exception {
        Recorder r1 = new Recorder();
        Leadership c1 = coordinator(zk.client(), "c1", r1);
        assertEquals("leader 1", r1.next());

        zk.server.stop();
        assertEquals("standby", r1.next());
        assertFalse(c1.isLeader());
        assertEquals(0, c1.epoch());

        zk.server.restart();
        assertEquals("leader 2", r1.next());
        assertEquals(2, c1.epoch());
        assertLeaderNode(new EpochFence(zk.client(), LAYOUT), "c1", 2);
        assertFalse(r1.events.stream().anyMatch(e -> e.contains("another thread")));
    }

    @Test
    void aStaleLeaderNodeIsReplacedAndTheEpochContinuesFromTheNode() throws Exception {
        CuratorFramework other = zk.client();
        other.create().creatingParentsIfNeeded().forPath(LAYOUT.epochPath(), ZkLayout.encodeEpoch(41));
        CoordinatorInfo ghost = CoordinatorInfo.newBuilder().setCoordinatorId("ghost").setAddress("ghost:1").setEpoch(41).build();
        other.create().withMode(CreateMode.EPHEMERAL).forPath(LAYOUT.leaderPath(), ghost.toByteArray());

        Recorder r1 = new Recorder();
        Leadership c1 = coordinator(zk.client(), "c1", r1);
        assertEquals("leader 42", r1.next());
        EpochFence fence = new EpochFence(other, LAYOUT);
        assertLeaderNode(fence, "c1", 42);
        assertFalse(fence.release(ghost), "release deletes only a node that still holds the caller's record");
        assertLeaderNode(fence, "c1", 42);

        c1.close();
        assertEquals("standby", r1.next());
        assertTrue(fence.leader().isEmpty(), "a leader that closes deletes its node");
        assertThrows(IllegalStateException.class, c1::start);
    }

    @Test
    void configIsValidated() {
        assertThrows(IllegalArgumentException.class, () -> new LeadershipConfig(LAYOUT, "", "h:1"));
        assertThrows(IllegalArgumentException.class, () -> new LeadershipConfig(LAYOUT, "c", "no-port"));
        assertThrows(IllegalArgumentException.class, () -> new LeadershipConfig(LAYOUT, "c", "::1:50051"));
        assertThrows(IllegalArgumentException.class, () -> new LeadershipConfig(LAYOUT, "c", "h:70000"));
        assertEquals("[::1]:50051", new LeadershipConfig(LAYOUT, "c", "[::1]:50051").address());
    }
}
