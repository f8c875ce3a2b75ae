package dev.tessera.coordinator.cluster;

import static dev.tessera.coordinator.cluster.ZooKeeperFixture.LAYOUT;
import static dev.tessera.coordinator.cluster.ZooKeeperFixture.WAIT_S;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.Timestamp;
import dev.tessera.proto.v1.CoordinatorInfo;
import dev.tessera.proto.v1.WorkerInfo;
import dev.tessera.proto.v1.WorkerState;
import dev.tessera.proto.zk.WorkerInstanceSerializer;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Predicate;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.x.discovery.ServiceDiscovery;
import org.apache.curator.x.discovery.ServiceDiscoveryBuilder;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The warm view of workers and leader, fed by workers that register the way a worker process does. */
class MembershipTest {

    /** Collects every snapshot a listener is told. */
    static final class Snapshots implements MembershipListener {
        final BlockingQueue<List<WorkerInfo>> workers = new LinkedBlockingQueue<>();
        final BlockingQueue<Optional<CoordinatorInfo>> leaders = new LinkedBlockingQueue<>();

        @Override public void workersChanged(List<WorkerInfo> snapshot) { workers.add(snapshot); }
        @Override public void leaderChanged(Optional<CoordinatorInfo> leader) { leaders.add(leader); }

        /** Skips snapshots until one matches; fails after the fixture's wait. */
        static <T> T until(BlockingQueue<T> queue, Predicate<T> condition, String what) throws InterruptedException {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(WAIT_S);
            for (T item; (item = queue.poll(deadline - System.nanoTime(), TimeUnit.NANOSECONDS)) != null; )
                if (condition.test(item)) return item;
            throw new AssertionError("listener was not told " + what + " within " + WAIT_S + " s");
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

    static WorkerInfo info(String id, int first, int last, WorkerState state) {
        return WorkerInfo.newBuilder().setWorkerId(id).setHost("127.0.0.1").setPort(7000 + first).setModel("gpt-oss-20b")
                .setModelFingerprint("1a2b").setFirstLayer(first).setLastLayer(last).setNumLayers(24).setKvBlockSize(16)
                .setKvCapacityBlocks(64).setState(state).setStartedAt(Timestamp.newBuilder().setSeconds(1_700_000_000L)).build();
    }

    /** A worker's own registry client, as the worker process holds it (its own ZooKeeper session). */
    ServiceDiscovery<WorkerInfo> workerRegistry(CuratorFramework client) throws Exception {
        ServiceDiscovery<WorkerInfo> discovery = ServiceDiscoveryBuilder.builder(WorkerInfo.class).client(client)
                .basePath(LAYOUT.workersPath()).serializer(new WorkerInstanceSerializer()).build();
        discovery.start();
        return zk.track(discovery);
    }

    static List<String> states(List<WorkerInfo> workers) {
        return workers.stream().map(w -> w.getWorkerId() + " " + w.getState()).toList();
    }

    @Test
    void seesWorkersRegisterChangeStateAndVanish() throws Exception {
        Membership membership = zk.track(new Membership(zk.client(), LAYOUT));
        membership.start();
        assertEquals(List.of(), membership.workers());
        Snapshots told = new Snapshots();
        membership.addListener(told);
        assertEquals(List.of(), Snapshots.until(told.workers, w -> true, "the first view"));

        CuratorFramework worker1 = zk.client();
        ServiceDiscovery<WorkerInfo> registry1 = workerRegistry(worker1), registry2 = workerRegistry(zk.client());
        WorkerInfo w1 = info("w1", 0, 12, WorkerState.WORKER_STATE_LOADING);
        registry1.registerService(WorkerInstanceSerializer.instance(w1));
        registry2.registerService(WorkerInstanceSerializer.instance(info("w2", 12, 24, WorkerState.WORKER_STATE_READY)));

        List<String> both = List.of("w1 WORKER_STATE_LOADING", "w2 WORKER_STATE_READY");
        assertEquals(both, states(membership.awaitWorkers(w -> w.size() == 2, Duration.ofSeconds(WAIT_S))));
        Snapshots.until(told.workers, w -> states(w).equals(both), "both workers");
        assertEquals(12, membership.worker("w2").orElseThrow().getFirstLayer());

        registry1.updateService(WorkerInstanceSerializer.instance(w1.toBuilder().setState(WorkerState.WORKER_STATE_READY).build()));
        List<String> ready = List.of("w1 WORKER_STATE_READY", "w2 WORKER_STATE_READY");
        Snapshots.until(told.workers, w -> states(w).equals(ready), "w1 READY");
        assertEquals(ready, states(membership.workers()));
        assertEquals(List.of("gpt-oss-20b/w1,w2"), ReplicaPlan.assemble(membership.workers()).replicas().stream().map(Replica::id).toList());

        registry1.close();
        worker1.close();
        Snapshots.until(told.workers, w -> states(w).equals(List.of("w2 WORKER_STATE_READY")), "w1 gone");
        assertEquals(List.of("w2"), membership.workers().stream().map(WorkerInfo::getWorkerId).toList());
        assertTrue(ReplicaPlan.assemble(membership.workers()).replicas().isEmpty());
    }

    @Test
    void seesTheLeaderComeAndGo() throws Exception {
        Membership membership = zk.track(new Membership(zk.client(), LAYOUT));
        Snapshots told = new Snapshots();
        membership.addListener(told);          // before start: told the first view once started
        membership.start();
        assertEquals(Optional.empty(), Snapshots.until(told.leaders, l -> true, "the first view"));
        assertEquals(Optional.empty(), membership.leader());

        LeadershipTest.Recorder recorder = new LeadershipTest.Recorder();
        Leadership leadership = zk.track(new Leadership(zk.client(), new LeadershipConfig(LAYOUT, "c1", "127.0.0.1:50051"), recorder));
        leadership.start();
        assertEquals("leader 1", recorder.next());
        CoordinatorInfo leader = Snapshots.until(told.leaders, Optional::isPresent, "a leader").orElseThrow();
        assertEquals("c1", leader.getCoordinatorId());
        assertEquals("127.0.0.1:50051", leader.getAddress());
        assertEquals(1, leader.getEpoch());
        assertEquals(Optional.of(leader), membership.leader());

        leadership.close();
        Snapshots.until(told.leaders, Optional::isEmpty, "no leader");
        assertEquals(Optional.empty(), membership.leader());
    }

    @Test
    void awaitWorkersTimesOutNamingWhatItSaw() throws Exception {
        Membership membership = zk.track(new Membership(zk.client(), LAYOUT));
        membership.start();
        workerRegistry(zk.client()).registerService(WorkerInstanceSerializer.instance(info("w9", 0, 24, WorkerState.WORKER_STATE_LOADING)));
        membership.awaitWorkers(w -> !w.isEmpty(), Duration.ofSeconds(WAIT_S));
        TimeoutException e = assertThrows(TimeoutException.class,
                () -> membership.awaitWorkers(w -> w.size() == 2, Duration.ofMillis(200)));
        assertTrue(e.getMessage().contains("w9 [0,24) LOADING"), e.getMessage());
        membership.close();
        assertEquals(Membership.State.CLOSED, membership.state());
    }
}
