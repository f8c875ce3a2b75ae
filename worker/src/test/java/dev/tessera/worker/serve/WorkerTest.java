package dev.tessera.worker.serve;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.tessera.proto.v1.InfoRequest;
import dev.tessera.proto.v1.PipelineRoute;
import dev.tessera.proto.v1.StageEndpoint;
import dev.tessera.proto.v1.StageGrpc;
import dev.tessera.proto.v1.StepInput;
import dev.tessera.proto.v1.StepOutput;
import dev.tessera.proto.v1.WorkerInfo;
import dev.tessera.proto.v1.WorkerState;
import dev.tessera.proto.zk.WorkerInstanceSerializer;
import dev.tessera.proto.zk.ZkLayout;
import dev.tessera.worker.Fixtures;
import dev.tessera.worker.backend.Backend;
import dev.tessera.worker.backend.ScalarBackend;
import dev.tessera.worker.sim.LatencyModel;
import dev.tessera.worker.sim.SimModel;
import dev.tessera.worker.sim.SimulatedShard;
import dev.tessera.worker.sim.Simulation;
import dev.tessera.worker.verify.Golden;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.Status;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.health.v1.HealthGrpc;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.Function;
import java.util.function.Supplier;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.retry.RetryOneTime;
import org.apache.curator.test.TestingServer;
import org.apache.curator.x.discovery.ServiceDiscovery;
import org.apache.curator.x.discovery.ServiceDiscoveryBuilder;
import org.apache.curator.x.discovery.ServiceInstance;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Workers as processes run them: Netty on 127.0.0.1, registered in a real (in-process) ZooKeeper. */
class WorkerTest {

    private static final ZkLayout LAYOUT = new ZkLayout("/tessera-test");

    private TestingServer zk;
    private CuratorFramework client;
    private ServiceDiscovery<WorkerInfo> registry;
    private final List<AutoCloseable> toClose = new ArrayList<>();

    @BeforeEach
    void startZooKeeper() throws Exception {
        zk = new TestingServer(true);
        client = CuratorFrameworkFactory.newClient(zk.getConnectString(), new RetryOneTime(100));
        client.start();
        assertTrue(client.blockUntilConnected(10, TimeUnit.SECONDS));
        registry = ServiceDiscoveryBuilder.builder(WorkerInfo.class).client(client).basePath(LAYOUT.workersPath())
                .serializer(new WorkerInstanceSerializer()).build();
        registry.start();
    }

    @AfterEach
    void stopAll() throws Exception {
        for (AutoCloseable c : toClose.reversed()) c.close();
        registry.close();
        client.close();
        zk.close();
    }

    /** A worker on the fixture, registered in the test's ZooKeeper; {@code layers} null reads them from there. */
    private WorkerConfig config(String id, LayerRange layers, Supplier<Backend> backend) {
        return WorkerConfig.of(id, Fixtures.tiny(), new LayerRange(0, 4), backend, "scalar")
                .withZooKeeper(zk.getConnectString(), LAYOUT, Duration.ofSeconds(10)).withKv(64, 4).withLayers(layers);
    }

    private Worker start(WorkerConfig config) throws Exception {
        Worker w = Worker.start(config);
        toClose.add(w);
        return w;
    }

    private ManagedChannel channel(String address) {
        ManagedChannel c = ManagedChannelBuilder.forTarget(address).usePlaintext().build();
        toClose.add(() -> c.shutdownNow().awaitTermination(5, TimeUnit.SECONDS));
        return c;
    }

    private WorkerInfo registered(String id) throws Exception {
        ServiceInstance<WorkerInfo> i = registry.queryForInstance(ZkLayout.STAGE_SERVICE, id);
        return i == null ? null : i.getPayload();
    }

    @Test
    void registersLoadingThenReadyServesOverNettyAndDeregistersOnClose() throws Exception {
        CountDownLatch loading = new CountDownLatch(1), release = new CountDownLatch(1);
        Supplier<Backend> gated = () -> {
            loading.countDown();
            try {
                if (!release.await(10, TimeUnit.SECONDS)) throw new IllegalStateException("the test never released the backend");
            } catch (InterruptedException e) {
                throw new IllegalStateException(e);
            }
            return new ScalarBackend();
        };
        CompletableFuture<Worker> starting = CompletableFuture.supplyAsync(() -> {
            try {
                return start(config("w-a", new LayerRange(0, 4), gated));
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        assertTrue(loading.await(10, TimeUnit.SECONDS), "the worker never began loading");
        WorkerInfo whileLoading = registered("w-a");
        assertEquals(WorkerState.WORKER_STATE_LOADING, whileLoading.getState());
        assertTrue(whileLoading.getPort() > 0, "registered with the bound port");
        ManagedChannel channel = channel("127.0.0.1:" + whileLoading.getPort());
        WorkerInfo info = StageGrpc.newBlockingStub(channel).info(InfoRequest.getDefaultInstance());
        assertEquals(WorkerState.WORKER_STATE_LOADING, info.getState(), "Info answers while loading");
        assertEquals(ServingStatus.NOT_SERVING, health(channel));
        ForwardCall early = new ForwardCall(channel);
        Status refused = early.awaitEnd();
        assertEquals(Status.Code.UNAVAILABLE, refused.getCode());
        assertTrue(refused.getDescription().contains("still loading"), refused::toString);

        release.countDown();
        Worker worker = starting.get(10, TimeUnit.SECONDS);
        WorkerInfo ready = registered("w-a");
        assertEquals(WorkerState.WORKER_STATE_READY, ready.getState());
        assertEquals(worker.port(), ready.getPort());
        assertEquals("127.0.0.1", ready.getHost());
        assertEquals(4, ready.getNumLayers());
        assertEquals(64, ready.getKvCapacityBlocks());
        assertEquals(512, ready.getVocabSize());
        assertEquals(131072, ready.getMaxContextTokens());
        assertEquals(dev.tessera.proto.v1.Backend.BACKEND_CPU, ready.getBackend());
        assertEquals(ServingStatus.SERVING, health(channel));

        Golden golden = Golden.load(Fixtures.tiny().resolve("golden.safetensors"));
        int[] prompt = Arrays.copyOf(golden.inputIds(), golden.genPromptLen());
        PipelineRoute route = PipelineRoute.newBuilder().setModelFingerprint(ready.getModelFingerprint())
                .addStages(endpoint(ready)).build();
        ForwardCall call = new ForwardCall(channel);
        StepOutput out = StageServiceTest.step(call, StepInput.newBuilder().setStep(1).setEpoch(1).setRoute(route)
                .addSeqs(new TestSequence(1, prompt, TestSequence.greedy(), 4, 0).rest()).build());
        assertEquals(golden.genTokens()[0], out.getTokens(0).getTokenId());

        worker.close();
        assertNull(registered("w-a"), "close() deregisters");
        Status closed = call.awaitEnd();
        assertEquals(Status.Code.UNAVAILABLE, closed.getCode(), closed::toString);
        assertTrue(closed.getDescription().contains("w-a is shutting down"), closed::toString);
    }

    @Test
    void twoWorkersFormAPipelineOverNetty() throws Exception {
        Worker first = start(config("w-0", new LayerRange(0, 2), ScalarBackend::new));
        Worker second = start(config("w-1", new LayerRange(2, 4), ScalarBackend::new));
        assertEquals(first.info().getModelFingerprint(), second.info().getModelFingerprint(), "one checkpoint, one fingerprint");
        Golden golden = Golden.load(Fixtures.tiny().resolve("golden.safetensors"));
        TestSequence seq = new TestSequence(1, Arrays.copyOf(golden.inputIds(), golden.genPromptLen()), TestSequence.greedy(), 4, 0);
        PipelineRoute route = PipelineRoute.newBuilder().setModelFingerprint(first.info().getModelFingerprint())
                .addStages(endpoint(first.info())).addStages(endpoint(second.info())).build();
        ForwardCall call = new ForwardCall(channel(first.address()));
        for (int i = 0; i < golden.genTokens().length; i++) {
            StepInput.Builder in = StepInput.newBuilder().setStep(i).setEpoch(1).addSeqs(seq.rest());
            if (i == 0) in.setRoute(route);
            seq.append(StageServiceTest.token(StageServiceTest.step(call, in.build()), 1));
        }
        assertEquals(StageServiceTest.ints(golden.genTokens()), seq.generated());

        second.kill();
        Status lost = call.awaitEnd();
        assertEquals(Status.Code.UNAVAILABLE, lost.getCode(), lost::toString);
        assertTrue(lost.getDescription().contains("stage w-1 at " + second.address()), lost::toString);
    }

    @Test
    void simulatedWorkersReadNoCheckpointSayTheyAreSimulatedAndFormAPipeline() throws Exception {
        LatencyModel latency = new LatencyModel(2, 0.01, 0.1, "test");
        Function<LayerRange, WorkerConfig> sim = layers -> new WorkerConfig("w-sim-" + layers.first(), WorkerConfig.DEFAULT_HOST,
                0, null, layers, 0, WorkerConfig.DEFAULT_KV_MEMORY_BYTES, 16, 2048, null, "unused", zk.getConnectString(),
                LAYOUT, Duration.ofSeconds(10), Simulation.of(latency));
        Worker first = start(sim.apply(new LayerRange(0, 18)));
        Worker second = start(sim.apply(new LayerRange(18, 36)));
        WorkerInfo info = StageGrpc.newBlockingStub(channel(first.address())).info(InfoRequest.getDefaultInstance());
        assertTrue(info.getSimulated());
        assertEquals(latency.describe(), info.getLatencyModel());
        assertEquals(dev.tessera.proto.v1.Backend.BACKEND_SIM, info.getBackend());
        assertEquals(Simulation.DEVICE, info.getDevice());
        assertEquals("gpt-oss-120b", info.getModel());
        assertEquals(36, info.getNumLayers());
        assertEquals(201088, info.getVocabSize());
        assertTrue(info.getModelFingerprint().startsWith("sim-"), info.getModelFingerprint());
        // The KV pool is sized as a real stage's would be: 256 MiB of 18 layers of K and V, 8 heads of 64 floats.
        assertEquals((256 << 20) / (18 * 2 * 8 * 64 * 4 * 16), info.getKvCapacityBlocks());
        WorkerInfo registered = registered(second.id());
        assertTrue(registered.getSimulated());
        assertEquals(WorkerState.WORKER_STATE_READY, registered.getState());

        int[] prompt = {200006, 1428, 200008, 5, 6, 7};
        SimulatedShard whole = new SimulatedShard(SimModel.preset("gpt-oss-120b").config(),
                new dev.tessera.worker.engine.ShardSpec(0, 36, 8, 16), new LatencyModel(0, 0, 0, "test"));
        List<Integer> expected = new ArrayList<>();
        dev.tessera.worker.engine.ShardOutput o = whole.forward(dev.tessera.worker.engine.ShardStep.of(List.of(
                new dev.tessera.worker.engine.SequenceChunk(1, prompt, 0, new int[] {0}, true, dev.tessera.worker.engine.SamplingParams.GREEDY))));
        for (int i = 0; i < 5; i++) {
            expected.add(o.sampled().getFirst().token());
            o = whole.forward(dev.tessera.worker.engine.ShardStep.of(List.of(new dev.tessera.worker.engine.SequenceChunk(1,
                    new int[] {expected.getLast()}, prompt.length + i, new int[] {0}, true, dev.tessera.worker.engine.SamplingParams.GREEDY))));
        }

        dev.tessera.proto.v1.SamplingParams withLogprobs = TestSequence.greedy().toBuilder().setTopLogprobs(3).build();
        TestSequence seq = new TestSequence(1, prompt, withLogprobs, 16, 3);
        PipelineRoute route = PipelineRoute.newBuilder().setModelFingerprint(info.getModelFingerprint())
                .addStages(endpoint(first.info())).addStages(endpoint(second.info())).build();
        ForwardCall call = new ForwardCall(channel(first.address()));
        for (int i = 0; i < 5; i++) {
            StepInput.Builder in = StepInput.newBuilder().setStep(i + 1).setEpoch(1).addSeqs(seq.rest());
            if (i == 0) in.setRoute(route);
            StepOutput out = StageServiceTest.step(call, in.build());
            assertEquals(3, out.getTokens(0).getTopLogprobsCount(), "simulated log-probabilities, as asked");
            assertTrue(out.getTokens(0).getLogprob() < 0);
            seq.append(StageServiceTest.token(out, 1));
        }
        assertEquals(expected, seq.generated(), "the stand-in tokens of the same prompt in one process");
    }

    @Test
    void killLetsTheNodeVanishWithTheSession() throws Exception {
        Worker worker = start(config("w-k", new LayerRange(0, 4), ScalarBackend::new));
        assertEquals(WorkerState.WORKER_STATE_READY, registered("w-k").getState());
        worker.kill();
        await(Duration.ofSeconds(10), "the node of a killed worker to vanish", () -> {
            try {
                return registered("w-k") == null;
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
    }

    @Test
    void aWorkerWithoutLayersReadsThemFromZooKeeper() throws Exception {
        String path = LAYOUT.layerConfigPath("w-z");
        CompletableFuture<Worker> starting = CompletableFuture.supplyAsync(() -> {
            try {
                return start(config("w-z", null, ScalarBackend::new));
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        client.create().creatingParentsIfNeeded().forPath(path, "2,4".getBytes(StandardCharsets.US_ASCII));
        Worker worker = starting.get(10, TimeUnit.SECONDS);
        assertEquals(new LayerRange(2, 4), worker.layers());
        assertEquals(2, registered("w-z").getFirstLayer());

        WorkerConfig impatient = config("w-none", null, ScalarBackend::new)
                .withZooKeeper(zk.getConnectString(), LAYOUT, Duration.ofMillis(300));
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> start(impatient));
        assertTrue(e.getMessage().contains("waited 300 ms for ZooKeeper znode " + LAYOUT.layerConfigPath("w-none")), e.getMessage());
        assertNull(registered("w-none"));
    }

    @Test
    void anUnreachableZooKeeperFailsInOneSentence() {
        WorkerConfig nowhere = config("w-x", new LayerRange(0, 4), ScalarBackend::new)
                .withZooKeeper("127.0.0.1:1", LAYOUT, Duration.ofMillis(500));
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> start(nowhere));
        assertTrue(e.getMessage().contains("cannot reach ZooKeeper at 127.0.0.1:1 within 500 ms"), e.getMessage());
    }

    @Test
    void aNewerEpochInZooKeeperClosesAStaleStream() throws Exception {
        Worker worker = start(config("w-e", new LayerRange(0, 4), ScalarBackend::new));
        WorkerInfo info = worker.info();
        PipelineRoute route = PipelineRoute.newBuilder().setModelFingerprint(info.getModelFingerprint()).addStages(endpoint(info)).build();
        ManagedChannel channel = channel(worker.address());
        ForwardCall call = new ForwardCall(channel);
        StageServiceTest.step(call, StepInput.newBuilder().setStep(1).setEpoch(5).setRoute(route)
                .addSeqs(new TestSequence(1, new int[] {1, 2, 3}, TestSequence.greedy(), 4, 0).rest()).build());

        client.create().creatingParentsIfNeeded().forPath(LAYOUT.epochPath(), ZkLayout.encodeEpoch(7));
        Status fenced = call.awaitEnd();
        assertEquals(Status.Code.FAILED_PRECONDITION, fenced.getCode(), fenced::toString);
        assertTrue(fenced.getDescription().contains("leader epoch 5 is stale: this stage has seen epoch 7"), fenced::toString);
        assertEquals(7, worker.info().getEpoch());
        assertEquals(0, worker.info().getLiveSequences());

        ForwardCall deposed = new ForwardCall(channel);
        deposed.send(StepInput.newBuilder().setStep(1).setEpoch(6).setRoute(route).build());
        assertEquals(Status.Code.FAILED_PRECONDITION, deposed.awaitEnd().getCode());
    }

    private static StageEndpoint endpoint(WorkerInfo info) {
        return StageEndpoint.newBuilder().setWorkerId(info.getWorkerId()).setAddress(info.getHost() + ":" + info.getPort())
                .setFirstLayer(info.getFirstLayer()).setLastLayer(info.getLastLayer()).build();
    }

    private static ServingStatus health(ManagedChannel channel) {
        return HealthGrpc.newBlockingStub(channel).withDeadlineAfter(5, TimeUnit.SECONDS)
                .check(HealthCheckRequest.newBuilder().setService(StageGrpc.SERVICE_NAME).build()).getStatus();
    }

    /** Polls {@code done} every 20 ms until it holds, failing after {@code timeout}. */
    private static void await(Duration timeout, String what, BooleanSupplier done) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!done.getAsBoolean()) {
            if (System.nanoTime() > deadline) fail("waited " + timeout.toSeconds() + " s for " + what);
            Thread.sleep(20);
        }
    }
}
