package dev.tessera.deploy;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.client.Completion;
import dev.tessera.client.GenerateRequests;
import dev.tessera.client.Generation;
import dev.tessera.client.GenerationListener;
import dev.tessera.client.TesseraClient;
import dev.tessera.proto.v1.FinishReason;
import dev.tessera.proto.v1.GenerateRequest;
import dev.tessera.proto.v1.GenerateResponse;
import dev.tessera.proto.v1.InfoRequest;
import dev.tessera.proto.v1.StageGrpc;
import dev.tessera.proto.v1.WorkerInfo;
import dev.tessera.worker.backend.CpuBackend;
import dev.tessera.worker.checkpoint.SyntheticCheckpoint;
import dev.tessera.worker.serve.Worker;
import dev.tessera.worker.verify.Golden;
import io.grpc.ManagedChannel;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.reflection.v1.ServerReflectionGrpc;
import io.grpc.reflection.v1.ServerReflectionRequest;
import io.grpc.reflection.v1.ServerReflectionResponse;
import io.grpc.reflection.v1.ServiceResponse;
import io.grpc.stub.StreamObserver;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The cluster end to end on loopback: ZooKeeper's embedded server, real coordinators and workers over gRPC on Netty,
 * the Java client. Expected tokens come from transformers (the fixture's golden file) or from the engine run alone in
 * this process.
 */
class ClusterIT {

    private static LocalCluster.Options options(Path model, int stages) {
        return LocalCluster.Options.of(model, stages, () -> new CpuBackend(1), "cpu (1 thread)");
    }

    private static GenerateRequest greedy(int[] prompt, int n) {
        return GenerateRequests.tokens(prompt).setSampling(GenerateRequests.greedy(n)).setIgnoreStopTokens(true).setOmitText(true).build();
    }

    private static void await(BooleanSupplier condition, String what) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) throw new AssertionError("timed out waiting for " + what);
            Thread.sleep(10);
        }
    }

    @ParameterizedTest(name = "{0} stages")
    @ValueSource(ints = {2, 3})
    void goldenGreedyTokensThroughAPipeline(int stages) throws Exception {
        Path tiny = TestModels.tiny();
        Golden golden = Golden.load(tiny.resolve("golden.safetensors"));
        int[] prompt = Arrays.copyOf(golden.inputIds(), golden.genPromptLen());
        try (LocalCluster cluster = LocalCluster.start(options(tiny, stages), System.out);
             TesseraClient client = TesseraClient.connect(cluster.address())) {
            assertEquals(stages, cluster.workers().size());
            Completion c = client.complete(greedy(prompt, golden.genTokens().length)).get(60, TimeUnit.SECONDS);
            assertArrayEquals(golden.genTokens(), c.tokenIdArray());
            assertEquals(FinishReason.FINISH_REASON_LENGTH, c.finishReason());
        }
    }

    @Test
    void theCoordinatorServesHealthAndReflection() throws Exception {
        try (LocalCluster cluster = LocalCluster.start(options(TestModels.tiny(), 2), System.out)) {
            ManagedChannel ch = NettyChannelBuilder.forTarget(cluster.address()).usePlaintext().build();
            try {
                HealthCheckResponse health = HealthGrpc.newBlockingStub(ch).withDeadlineAfter(5, TimeUnit.SECONDS)
                        .check(HealthCheckRequest.newBuilder().setService("tessera.v1.Inference").build());
                assertEquals(HealthCheckResponse.ServingStatus.SERVING, health.getStatus());

                CompletableFuture<List<String>> services = new CompletableFuture<>();
                StreamObserver<ServerReflectionRequest> ask = ServerReflectionGrpc.newStub(ch).serverReflectionInfo(new StreamObserver<>() {
                    @Override public void onNext(ServerReflectionResponse r) {
                        services.complete(r.getListServicesResponse().getServiceList().stream().map(ServiceResponse::getName).toList());
                    }
                    @Override public void onError(Throwable t) { services.completeExceptionally(t); }
                    @Override public void onCompleted() { }
                });
                ask.onNext(ServerReflectionRequest.newBuilder().setListServices("").build());
                assertTrue(services.get(5, TimeUnit.SECONDS).contains("tessera.v1.Inference"));
                ask.onCompleted();

                cluster.workers().getFirst().kill(); // the only replica is gone: not SERVING any more
                await(() -> HealthGrpc.newBlockingStub(ch).withDeadlineAfter(5, TimeUnit.SECONDS)
                        .check(HealthCheckRequest.newBuilder().setService("tessera.v1.Inference").build()).getStatus()
                        == HealthCheckResponse.ServingStatus.NOT_SERVING, "health to report NOT_SERVING");
            } finally {
                ch.shutdownNow();
            }
        }
    }

    @Test
    void anUnseenCheckpointGivesTheEnginesTokens(@TempDir Path dir) throws Exception {
        // A shape no other test uses: 5 layers, 6 experts (2 per token), GQA 3:1, head dim 24, window 4.
        SyntheticCheckpoint.write(dir, new SyntheticCheckpoint.Shape(5, 6, 2, 96, 64, 6, 2, 24, 700, 4, 20261123));
        int[] prompt = {5, 17, 300, 2, 2, 650, 41, 9, 13};
        int[] expected = TestModels.engineGreedy(dir, prompt, 20);
        try (LocalCluster cluster = LocalCluster.start(options(dir, 3), System.out);
             TesseraClient client = TesseraClient.connect(cluster.address())) {
            assertArrayEquals(expected, client.complete(greedy(prompt, 20)).get(60, TimeUnit.SECONDS).tokenIdArray());
        }
    }

    @Test
    void aLongPromptIsPrefilledInChunksAlongsideShortOnes() throws Exception {
        Path tiny = TestModels.tiny();
        Random random = new Random(1200);
        int[] longPrompt = random.ints(1300, 0, 512).toArray(); // three chunks of the default 512-token budget
        int[] shortPrompt = random.ints(5, 0, 512).toArray();
        int[] expectedLong = TestModels.engineGreedy(tiny, longPrompt, 16);
        int[] expectedShort = TestModels.engineGreedy(tiny, shortPrompt, 40);
        try (LocalCluster cluster = LocalCluster.start(options(tiny, 2), System.out);
             TesseraClient client = TesseraClient.connect(cluster.address())) {
            CompletableFuture<Completion> lng = client.complete(greedy(longPrompt, 16));
            CompletableFuture<Completion> shrt = client.complete(greedy(shortPrompt, 40));
            assertArrayEquals(expectedLong, lng.get(60, TimeUnit.SECONDS).tokenIdArray());
            assertArrayEquals(expectedShort, shrt.get(60, TimeUnit.SECONDS).tokenIdArray());
        }
    }

    @Test
    void sixtyFourConcurrentStreamsEachGiveTheirLoneRunsTokens() throws Exception {
        Path tiny = TestModels.tiny();
        Random random = new Random(64);
        int n = 64;
        int[][] prompts = new int[n][];
        int[] lengths = new int[n];
        int[][] expected = new int[n][];
        for (int i = 0; i < n; i++) {
            prompts[i] = random.ints(1 + random.nextInt(40), 0, 512).toArray();
            lengths[i] = 1 + random.nextInt(24);
            expected[i] = TestModels.engineGreedy(tiny, prompts[i], lengths[i]);
        }
        try (LocalCluster cluster = LocalCluster.start(options(tiny, 2).withKv(128, 16), System.out);
             TesseraClient client = TesseraClient.connect(cluster.address())) {
            List<CompletableFuture<Completion>> futures = new ArrayList<>();
            for (int i = 0; i < n; i++) futures.add(client.complete(greedy(prompts[i], lengths[i])));
            for (int i = 0; i < n; i++)
                assertArrayEquals(expected[i], futures.get(i).get(120, TimeUnit.SECONDS).tokenIdArray(), "stream " + i);
            for (Worker w : cluster.workers()) await(() -> w.info().getKvBlocksInUse() == 0, w.id() + " to free every block");
        }
    }

    @Test
    void aCancelledStreamFreesItsBlocksOnEveryStage() throws Exception {
        Path tiny = TestModels.tiny();
        try (LocalCluster cluster = LocalCluster.start(options(tiny, 3), System.out);
             TesseraClient client = TesseraClient.connect(cluster.address())) {
            CountDownLatch someTokens = new CountDownLatch(5);
            Generation g = client.generate(greedy(new int[] {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17}, 100_000),
                    new GenerationListener() {
                        @Override public void onChunk(GenerateResponse chunk) { chunk.getTokenIdsList().forEach(t -> someTokens.countDown()); }
                        @Override public void onComplete(Completion completion) { }
                        @Override public void onError(StatusRuntimeException error) { }
                    });
            assertTrue(someTokens.await(30, TimeUnit.SECONDS));
            for (Worker w : cluster.workers()) {
                WorkerInfo info = infoOverGrpc(w);
                assertEquals(1, info.getLiveSequences(), w.id());
                assertTrue(info.getKvBlocksInUse() >= 2, w.id() + " holds the sequence's blocks");
            }
            g.cancel();
            for (Worker w : cluster.workers())
                await(() -> infoOverGrpc(w).getKvBlocksInUse() == 0 && infoOverGrpc(w).getLiveSequences() == 0,
                        w.id() + " to free the cancelled sequence's blocks");
            await(() -> cluster.leader().replicaSet().live() == 0, "the coordinator to drop the request");
        }
    }

    @Test
    void clusterStatusShowsTheLeaderWorkersAndReplicas() throws Exception {
        try (LocalCluster cluster = LocalCluster.start(options(TestModels.tiny(), 2), System.out)) {
            TesseraMainTest.Run set = TesseraMainTest.run("cluster", "set-layers", "--zookeeper", cluster.zkConnect(), "spare-1", "0:2");
            assertEquals(0, set.exit(), set.err());
            TesseraMainTest.Run status = TesseraMainTest.run("cluster", "status", "--zookeeper", cluster.zkConnect());
            assertEquals(0, status.exit(), status.err());
            assertTrue(status.out().contains("leader: " + cluster.leader().address()), status.out());
            assertTrue(status.out().contains("workers: 2"), status.out());
            assertTrue(status.out().contains("replicas: 1"), status.out());
            assertTrue(status.out().contains("gpt-oss-tiny/worker-0-0,worker-0-1"), status.out());
        }
    }

    /** What the worker itself answers over its Stage service. */
    static WorkerInfo infoOverGrpc(Worker w) {
        ManagedChannel ch = NettyChannelBuilder.forTarget(w.address()).usePlaintext().build();
        try {
            return StageGrpc.newBlockingStub(ch).withDeadlineAfter(5, TimeUnit.SECONDS).info(InfoRequest.getDefaultInstance());
        } finally {
            ch.shutdownNow();
        }
    }
}
