package dev.tessera.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.proto.v1.CoordinatorInfo;
import dev.tessera.proto.zk.ZkLayout;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.retry.RetryOneTime;
import org.apache.curator.test.TestingServer;
import org.apache.zookeeper.CreateMode;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A client built from ZooKeeper follows the leader node in a real (in-process) ZooKeeper: two fake coordinators on
 * the in-process transport, whose registered addresses name in-process servers.
 */
class LeaderTrackingTest {

    private static final ZkLayout LAYOUT = new ZkLayout("/tessera-test");
    private static final String A = "coordinator-a:50051", B = "coordinator-b:50051";

    private final FakeInferenceService fakeA = new FakeInferenceService("A"), fakeB = new FakeInferenceService("B");
    private final BlockingQueue<Optional<CoordinatorInfo>> leaderChanges = new LinkedBlockingQueue<>();
    private TestingServer zk;
    private CuratorFramework writer;
    private Server serverA, serverB;
    private TesseraClient client;

    @BeforeEach
    void start() throws Exception {
        zk = new TestingServer(true);
        writer = CuratorFrameworkFactory.newClient(zk.getConnectString(), new RetryOneTime(100));
        writer.start();
        serverA = InProcessServerBuilder.forName(A).addService(fakeA).build().start();
        serverB = InProcessServerBuilder.forName(B).addService(fakeB).build().start();
        client = TesseraClient.fromZooKeeper(zk.getConnectString(), LAYOUT,
                ClientOptions.DEFAULTS.withDeadline(Duration.ofSeconds(10)),
                address -> InProcessChannelBuilder.forName(address).build());
        ((LeaderTracker) client.source()).addListener(leaderChanges::add);
    }

    @AfterEach
    void stop() throws Exception {
        client.close();
        writer.close();
        serverA.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        serverB.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        zk.close();
    }

    private static byte[] info(String address, long epoch) {
        return CoordinatorInfo.newBuilder().setCoordinatorId(address).setAddress(address).setEpoch(epoch).build().toByteArray();
    }

    /** Waits until the client has seen the leader at {@code address} (null: no leader). */
    private void awaitLeader(String address) throws InterruptedException {
        while (true) {
            Optional<CoordinatorInfo> change = leaderChanges.poll(5, TimeUnit.SECONDS);
            assertNotNull(change, "the client did not see the leader become " + address);
            if (Objects.equals(change.map(CoordinatorInfo::getAddress).orElse(null), address)) return;
        }
    }

    private String requestIdOfOneCall() throws Exception {
        return client.complete(TesseraClientTest.request(2)).get(5, TimeUnit.SECONDS).requestId();
    }

    @Test
    void callsFollowTheLeaderNode() throws Exception {
        // No leader yet: the call waits for one.
        CompletableFuture<Completion> early = client.complete(TesseraClientTest.request(2));
        assertFalse(early.isDone());
        writer.create().creatingParentsIfNeeded().withMode(CreateMode.EPHEMERAL).forPath(LAYOUT.leaderPath(), info(A, 1));
        assertEquals("A-1", early.get(5, TimeUnit.SECONDS).requestId());
        assertEquals(A, client.leader().orElseThrow().getAddress());
        assertEquals("A-2", requestIdOfOneCall());

        // A call in flight on A when the leader moves to B runs to its end on A; new calls go to B.
        fakeA.holdAfter = 1;
        CompletableFuture<Completion> inFlight = client.complete(TesseraClientTest.request(3));
        assertTrue(fakeA.holding.await(5, TimeUnit.SECONDS));
        writer.setData().forPath(LAYOUT.leaderPath(), info(B, 2));
        awaitLeader(B);
        assertEquals("B-1", requestIdOfOneCall());
        fakeA.release();
        assertEquals(List.of(1000, 1001, 1002), inFlight.get(5, TimeUnit.SECONDS).tokenIds());
        assertEquals(2, client.leader().orElseThrow().getEpoch());

        // No leader: a call with a short deadline fails UNAVAILABLE, saying where it looked.
        writer.delete().forPath(LAYOUT.leaderPath());
        awaitLeader(null);
        ExecutionException e = assertThrows(ExecutionException.class,
                () -> client.withDeadline(Duration.ofMillis(200)).complete(TesseraClientTest.request(2)).get(5, TimeUnit.SECONDS));
        StatusRuntimeException status = assertInstanceOf(StatusRuntimeException.class, e.getCause());
        assertEquals(Status.Code.UNAVAILABLE, status.getStatus().getCode());
        assertTrue(status.getStatus().getDescription().startsWith("no leader coordinator registered under /tessera-test/coordinators/leader"),
                status.getStatus().getDescription());

        // The leader is back: calls work again.
        writer.create().withMode(CreateMode.EPHEMERAL).forPath(LAYOUT.leaderPath(), info(A, 3));
        awaitLeader(A);
        assertEquals("A-4", requestIdOfOneCall());
        assertEquals(1, fakeA.cancelled.getCount(), "no call on A was cancelled");
        assertEquals(1, fakeB.cancelled.getCount(), "no call on B was cancelled");
    }

    @Test
    void aCallRefusedByADeadLeaderIsRetriedOnTheNextOne() throws Exception {
        // The leader node still names A, but A is gone (crashed, its session not yet expired).
        serverA.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        writer.create().creatingParentsIfNeeded().withMode(CreateMode.EPHEMERAL).forPath(LAYOUT.leaderPath(), info(A, 1));
        awaitLeader(A);
        CompletableFuture<Completion> call = client.complete(TesseraClientTest.request(2));
        Thread.sleep(300); // a few attempts against the dead leader, each refused as UNAVAILABLE
        assertFalse(call.isDone(), "the call waits for a live leader instead of failing");
        writer.setData().forPath(LAYOUT.leaderPath(), info(B, 2));
        assertEquals("B-1", call.get(10, TimeUnit.SECONDS).requestId(), "retried on the new leader");
        assertEquals(1, fakeB.calls.get());
    }

    @Test
    void aBlockingStreamAndACancelWorkWhileWaitingForALeader() throws Exception {
        Generation waiting = client.generate(TesseraClientTest.request(2), new RecordingListener());
        GenerationStream stream = client.generate(TesseraClientTest.request(2));
        waiting.cancel();
        assertTrue(waiting.isDone(), "a call withdrawn before it started ends at once");
        writer.create().creatingParentsIfNeeded().withMode(CreateMode.EPHEMERAL).forPath(LAYOUT.leaderPath(), info(B, 1));
        assertEquals(List.of(1000, 1001), stream.completion().tokenIds());
        assertEquals(1, fakeB.calls.get(), "the withdrawn call never reached the server");
    }

    @Test
    void withoutZooKeeperTheErrorSaysSo() throws Exception {
        try (TesseraClient offline = TesseraClient.fromZooKeeper("127.0.0.1:1", LAYOUT,
                ClientOptions.DEFAULTS.withDeadline(Duration.ofMillis(300)), ChannelFactory.PLAINTEXT)) {
            StatusRuntimeException e = assertThrows(StatusRuntimeException.class, offline::listModels);
            assertEquals(Status.Code.UNAVAILABLE, e.getStatus().getCode());
            assertTrue(e.getStatus().getDescription().contains("not connected to ZooKeeper at 127.0.0.1:1"), e.getMessage());
        }
    }

    private static final class RecordingListener implements GenerationListener {
        @Override
        public void onChunk(dev.tessera.proto.v1.GenerateResponse chunk) {}

        @Override
        public void onComplete(Completion completion) {}

        @Override
        public void onError(StatusRuntimeException error) {}
    }
}
