package dev.tessera.coordinator.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.coordinator.scheduler.Finish;
import dev.tessera.proto.v1.SampledToken;
import dev.tessera.proto.v1.SamplingParams;
import dev.tessera.proto.v1.StageEndpoint;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Routing and recovery across replicas, with {@link FakeStage} replicas over the in-process transport. */
class ReplicaSetTest {

    private final List<AutoCloseable> closers = new ArrayList<>();
    private final Map<String, ManagedChannel> channels = new HashMap<>();
    private final Map<String, Server> servers = new HashMap<>();
    private final Map<String, FakeStage> stages = new HashMap<>();

    @AfterEach
    void stop() throws Exception {
        for (int i = closers.size() - 1; i >= 0; i--) closers.get(i).close();
    }

    private ReplicaRoute replica(String name, FakeStage stage) throws Exception {
        return replica(name, "m", stage);
    }

    private ReplicaRoute replica(String name, String model, FakeStage stage) throws Exception {
        String address = InProcessServerBuilder.generateName();
        // NOTE: not directExecutor: the stage answers on its own threads, as a remote stage would.
        Server server = InProcessServerBuilder.forName(address).addService(stage).build().start();
        servers.put(name, server);
        stages.put(name, stage);
        closers.add(server::shutdownNow);
        ManagedChannel channel = InProcessChannelBuilder.forName(address).build();
        channels.put(address, channel);
        closers.add(channel::shutdownNow);
        StageEndpoint e = StageEndpoint.newBuilder().setWorkerId(name).setAddress(address).setLastLayer(1).build();
        return new ReplicaRoute(name, model, "fp-" + model, List.of(e), 512, 4, 0, 100_000, 4096);
    }

    /** Collects a request's tokens and its end. */
    private static final class Collector implements TokenSink {
        final List<Integer> tokens = new ArrayList<>();
        final CountDownLatch done = new CountDownLatch(1);
        volatile Finish finish;
        volatile CountDownLatch firstTokens = new CountDownLatch(3);

        @Override public synchronized void onToken(SampledToken token, int index) {
            assertEquals(tokens.size(), index, "token indices are consecutive");
            tokens.add(token.getTokenId());
            firstTokens.countDown();
        }

        @Override public void onFinish(Finish f, int stopTokenId, String error) { finish = f; done.countDown(); }
    }

    private static Request request(long n, int first, int maxTokens, Collector sink) {
        return request(n, "m", first, maxTokens, sink);
    }

    private static Request request(long n, String model, int first, int maxTokens, Collector sink) {
        return new Request("r" + n, model, new int[] {first}, maxTokens, new int[0],
                SamplingParams.newBuilder().setTemperature(0).setSeed(1).build(), 0, n, Long.MAX_VALUE, sink);
    }

    @Test
    void requestsOnALostReplicaContinueOnAnotherWithNoTokenLostOrRepeated() throws Exception {
        // Each fake stage answers slowly enough that the streams are mid-way when replica a dies.
        FakeStage a = new FakeStage(t -> t + 1), b = new FakeStage(t -> t + 1);
        ReplicaRoute ra = replica("a", a);
        ReplicaSet set = new ReplicaSet(channels::get, ReplicaSet.Limits.DEFAULT, 100);
        closers.add(set::close);
        set.update(List.of(ra), 1);

        List<Collector> sinks = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            Collector c = new Collector();
            sinks.add(c);
            assertEquals(ReplicaSet.Admission.ACCEPTED, set.submit(request(i, 1000 * (i + 1), 400, c)));
        }
        for (Collector c : sinks) assertTrue(c.firstTokens.await(10, TimeUnit.SECONDS));
        ReplicaRoute rb = replica("b", b);
        set.update(List.of(ra, rb), 1);
        servers.get("a").shutdownNow(); // the worker dies: its stream breaks mid-generation

        for (Collector c : sinks) assertTrue(c.done.await(20, TimeUnit.SECONDS));
        for (int i = 0; i < sinks.size(); i++) {
            Collector c = sinks.get(i);
            assertEquals(Finish.LENGTH, c.finish);
            List<Integer> expected = new ArrayList<>();
            for (int k = 1; k <= 400; k++) expected.add(1000 * (i + 1) + k);
            assertEquals(expected, c.tokens, "request " + i + " lost or repeated a token");
        }
        assertTrue(b.steps > 0, "replica b took over");
        assertNull(b.violation);
        assertEquals(0, set.live());
    }

    @Test
    void requestsGoToTheReplicaWithTheLeastKvInUse() throws Exception {
        FakeStage a = new FakeStage(t -> t + 1), b = new FakeStage(t -> t + 1);
        ReplicaSet set = new ReplicaSet(channels::get, ReplicaSet.Limits.DEFAULT, 100);
        closers.add(set::close);
        set.update(List.of(replica("a", a), replica("b", b)), 1);
        Collector longOne = new Collector();
        set.submit(request(0, 1, 2000, longOne)); // long enough to keep its replica busy
        assertTrue(longOne.firstTokens.await(10, TimeUnit.SECONDS));
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (set.stats().values().stream().allMatch(s -> s.kvBlocksUsed() == 0) && System.nanoTime() < deadline) Thread.onSpinWait();
        String busy = set.stats().entrySet().stream().filter(e -> e.getValue().kvBlocksUsed() > 0).findFirst().orElseThrow().getKey();
        Collector next = new Collector();
        set.submit(request(1, 5000, 3, next));
        assertTrue(next.done.await(10, TimeUnit.SECONDS));
        FakeStage idle = busy.equals("a") ? b : a;
        assertTrue(idle.steps > 0, "the second request went to the idle replica, not " + busy);
    }

    @Test
    void aBurstBeyondAReplicasCapacityWaitsInsteadOfFailing() throws Exception {
        FakeStage a = new FakeStage(t -> t + 1);
        ReplicaSet set = new ReplicaSet(channels::get, new ReplicaSet.Limits(512, 1, 2, 16, java.time.Duration.ofSeconds(60)), 100);
        closers.add(set::close);
        set.update(List.of(replica("a", a)), 1);
        List<Collector> sinks = new ArrayList<>();
        for (int i = 0; i < 9; i++) {
            Collector c = new Collector();
            sinks.add(c);
            assertEquals(ReplicaSet.Admission.ACCEPTED, set.submit(request(i, 100 * (i + 1), 20, c)));
        }
        for (int i = 0; i < sinks.size(); i++) {
            Collector c = sinks.get(i);
            assertTrue(c.done.await(20, TimeUnit.SECONDS), "request " + i);
            assertEquals(Finish.LENGTH, c.finish, "request " + i);
            assertEquals(20, c.tokens.size());
            assertEquals(100 * (i + 1) + 20, (int) c.tokens.getLast());
        }
        assertEquals(0, set.live());
        assertEquals(0, set.movedRequests(), "the replica never failed");
    }

    @Test
    void aRequestOnlyRunsOnReplicasOfItsModel() throws Exception {
        FakeStage a = new FakeStage(t -> t + 1), b = new FakeStage(t -> t + 2);
        ReplicaSet set = new ReplicaSet(channels::get, ReplicaSet.Limits.DEFAULT, 100);
        closers.add(set::close);
        set.update(List.of(replica("a", "model-a", a), replica("b", "model-b", b)), 1);
        for (int i = 0; i < 6; i++) {
            Collector c = new Collector();
            set.submit(request(i, "model-b", 10, 3, c));
            assertTrue(c.done.await(10, TimeUnit.SECONDS));
            assertEquals(List.of(12, 14, 16), c.tokens, "model-b's replica answered");
        }
        assertEquals(0, a.everSeen.size(), "model-a's replica never saw a model-b request");
    }

    @Test
    void aRequestThatKeepsFailingReplicasEndsWithAnError() throws Exception {
        FakeStage broken = new FakeStage(t -> t + 1);
        broken.failStreams = true;
        ReplicaSet set = new ReplicaSet(channels::get, ReplicaSet.Limits.DEFAULT, 100);
        closers.add(set::close);
        set.update(List.of(replica("a", broken)), 1);
        Collector c = new Collector();
        set.submit(request(0, 1, 5, c));
        assertTrue(c.done.await(30, TimeUnit.SECONDS), "the request ended");
        assertEquals(Finish.ERROR, c.finish);
        assertEquals(ReplicaSet.MAX_MOVES + 1, set.movedRequests(), "moved until the cap, then given up");
        assertEquals(0, set.live());
    }

    @Test
    void aStageThatHangsIsGivenUpAndItsRequestsMove() throws Exception {
        FakeStage hung = new FakeStage(t -> t + 1), healthy = new FakeStage(t -> t + 1);
        hung.pauseAfterSteps = 2; // answers two steps, then never again
        ReplicaSet set = new ReplicaSet(channels::get, ReplicaSet.Limits.DEFAULT.withStepTimeout(java.time.Duration.ofMillis(300)), 100);
        closers.add(set::close);
        closers.add(hung.resume::countDown);
        set.update(List.of(replica("a", hung)), 1);
        Collector c = new Collector();
        set.submit(request(0, 50, 30, c));
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (hung.steps < 3 && System.nanoTime() < deadline) Thread.onSpinWait();
        set.update(List.of(replica("a", hung), replica("b", healthy)), 1);
        assertTrue(c.done.await(10, TimeUnit.SECONDS));
        assertEquals(Finish.LENGTH, c.finish);
        List<Integer> expected = new ArrayList<>();
        for (int k = 1; k <= 30; k++) expected.add(50 + k);
        assertEquals(expected, c.tokens);
        assertTrue(set.movedRequests() >= 1);
    }
}
