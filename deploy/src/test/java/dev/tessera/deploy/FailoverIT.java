package dev.tessera.deploy;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.client.ClientOptions;
import dev.tessera.client.Completion;
import dev.tessera.client.GenerateRequests;
import dev.tessera.client.Generation;
import dev.tessera.client.GenerationListener;
import dev.tessera.client.TesseraClient;
import dev.tessera.coordinator.Coordinator;
import dev.tessera.proto.v1.GenerateRequest;
import dev.tessera.proto.v1.GenerateResponse;
import dev.tessera.proto.v1.PipelineRoute;
import dev.tessera.proto.v1.StageEndpoint;
import dev.tessera.proto.v1.StageGrpc;
import dev.tessera.proto.v1.StepInput;
import dev.tessera.proto.v1.StepOutput;
import dev.tessera.proto.v1.WorkerInfo;
import dev.tessera.proto.zk.ZkLayout;
import dev.tessera.worker.backend.CpuBackend;
import dev.tessera.worker.serve.Worker;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.StreamObserver;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** Failures on loopback: a worker killed mid-stream, the leader coordinator killed, a deposed leader's stale epoch. */
class FailoverIT {

    private static GenerateRequest greedy(int[] prompt, int n) {
        return GenerateRequests.tokens(prompt).setSampling(GenerateRequests.greedy(n)).setIgnoreStopTokens(true).setOmitText(true).build();
    }

    @Test
    void aWorkerKilledMidStreamLeavesEveryStreamCompleteAndExact() throws Exception {
        streamsSurviveTheLossOf(Worker::kill);
    }

    @Test
    void aWorkerShutDownMidStreamDrainsWithEveryStreamCompleteAndExact() throws Exception {
        streamsSurviveTheLossOf(Worker::close);
    }

    private void streamsSurviveTheLossOf(java.util.function.Consumer<Worker> loss) throws Exception {
        Path tiny = TestModels.tiny();
        Random random = new Random(7);
        int n = 12, length = 400;
        int[][] prompts = new int[n][];
        int[][] expected = new int[n][];
        for (int i = 0; i < n; i++) {
            prompts[i] = random.ints(3 + random.nextInt(20), 0, 512).toArray();
            expected[i] = TestModels.engineGreedy(tiny, prompts[i], length);
        }
        LocalCluster.Options o = LocalCluster.Options.of(tiny, 2, () -> new CpuBackend(1), "cpu").withReplicas(2);
        try (LocalCluster cluster = LocalCluster.start(o, System.out);
             TesseraClient client = TesseraClient.connect(cluster.address())) {
            CountDownLatch underway = new CountDownLatch(n);
            List<CompletableFuture<Completion>> results = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                CompletableFuture<Completion> done = new CompletableFuture<>();
                results.add(done);
                client.generate(greedy(prompts[i], length), new GenerationListener() {
                    boolean counted;
                    @Override public void onChunk(GenerateResponse chunk) {
                        if (!counted && chunk.getTokenIdsCount() > 0) { counted = true; underway.countDown(); }
                    }
                    @Override public void onComplete(Completion c) { done.complete(c); }
                    @Override public void onError(StatusRuntimeException e) { done.completeExceptionally(e); }
                });
            }
            assertTrue(underway.await(60, TimeUnit.SECONDS), "every stream has started");
            Worker victim = cluster.workers().stream().filter(w -> w.id().equals("worker-0-1")).findFirst().orElseThrow();
            loss.accept(victim);
            for (int i = 0; i < n; i++) {
                Completion c = results.get(i).get(120, TimeUnit.SECONDS);
                assertArrayEquals(expected[i], c.tokenIdArray(), "stream " + i + " lost or repeated a token");
            }
            assertTrue(cluster.leader().replicaSet().movedRequests() > 0, "streams were under way on the killed worker's replica");
        }
    }

    @Test
    void aStandbyTakesOverFromAKilledLeaderAndTheOldEpochIsFenced() throws Exception {
        Path tiny = TestModels.tiny();
        LocalCluster.Options o = LocalCluster.Options.of(tiny, 2, () -> new CpuBackend(1), "cpu").withCoordinators(2);
        try (LocalCluster cluster = LocalCluster.start(o, System.out);
             TesseraClient client = TesseraClient.fromZooKeeper(cluster.zkConnect(), ZkLayout.DEFAULT,
                     ClientOptions.DEFAULTS.withDeadline(Duration.ofSeconds(60)))) {
            Coordinator first = cluster.leader();
            assertNotNull(first);
            long oldEpoch = first.epoch();
            int[] prompt = {3, 1, 4, 1, 5, 9, 2, 6};
            int[] expected = TestModels.engineGreedy(tiny, prompt, 10);
            assertArrayEquals(expected, client.complete(greedy(prompt, 10)).get(60, TimeUnit.SECONDS).tokenIdArray());

            first.kill();
            Coordinator second = cluster.coordinators().stream().filter(c -> c != first).findFirst().orElseThrow();
            assertTrue(second.awaitReplicas(1, Duration.ofSeconds(30)), "the standby leads and serves");
            assertTrue(second.epoch() > oldEpoch, "epoch " + second.epoch() + " after " + oldEpoch);
            assertArrayEquals(expected, client.complete(greedy(prompt, 10)).get(60, TimeUnit.SECONDS).tokenIdArray());

            // The deposed leader's epoch no longer drives any stage.
            Worker stage0 = cluster.workers().stream().filter(w -> w.layers().first() == 0).findFirst().orElseThrow();
            Status refused = forwardWithEpoch(stage0, cluster.workers(), oldEpoch);
            assertEquals(Status.Code.FAILED_PRECONDITION, refused.getCode(), String.valueOf(refused));
        }
    }

    /** A POST of a greedy /v1/completions for {@code prompt} to a coordinator's HTTP API: status and body. */
    private static java.net.http.HttpResponse<String> httpCompletion(Coordinator c, int[] prompt, int n) throws Exception {
        String ids = java.util.Arrays.stream(prompt).mapToObj(Integer::toString).collect(java.util.stream.Collectors.joining(","));
        String body = "{\"prompt\":[" + ids + "],\"max_tokens\":" + n + ",\"temperature\":0,\"ignore_eos\":true,\"logprobs\":0}";
        try (java.net.http.HttpClient http = java.net.http.HttpClient.newHttpClient()) {
            return http.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create("http://127.0.0.1:" + c.httpPort() + "/v1/completions"))
                    .POST(java.net.http.HttpRequest.BodyPublishers.ofString(body)).build(), java.net.http.HttpResponse.BodyHandlers.ofString());
        }
    }

    @Test
    void httpSentToAStandbyReachesTheLeaderAndSurvivesItsDeath() throws Exception {
        Path tiny = TestModels.tiny();
        LocalCluster.Options o = LocalCluster.Options.of(tiny, 2, () -> new CpuBackend(1), "cpu").withCoordinators(2)
                .withHttp(dev.tessera.coordinator.openai.GatewayConfig.of("127.0.0.1", 0));
        try (LocalCluster cluster = LocalCluster.start(o, System.out)) {
            Coordinator leader = cluster.leader();
            Coordinator standby = cluster.coordinators().stream().filter(c -> c != leader).findFirst().orElseThrow();
            int[] prompt = {3, 1, 4, 1, 5, 9, 2, 6};
            int[] expected = TestModels.engineGreedy(tiny, prompt, 10);
            com.fasterxml.jackson.databind.ObjectMapper json = new com.fasterxml.jackson.databind.ObjectMapper();
            for (Coordinator c : List.of(leader, standby)) {
                var r = httpCompletion(c, prompt, 10);
                assertEquals(200, r.statusCode(), r.body());
                var tokens = json.readTree(r.body()).at("/choices/0/logprobs/tokens");
                String text = json.readTree(r.body()).at("/choices/0/text").asText();
                assertEquals(expected.length, tokens.size(), r.body());
                assertEquals(dev.tessera.coordinator.text.Tokenizer.shared().decode(expected), text, "the engine's tokens through " + (c == leader ? "the leader" : "the standby"));
            }
            leader.kill();
            assertTrue(standby.awaitReplicas(1, Duration.ofSeconds(30)), "the standby leads and serves");
            var r = httpCompletion(standby, prompt, 10);
            assertEquals(200, r.statusCode(), r.body());
            assertEquals(dev.tessera.coordinator.text.Tokenizer.shared().decode(expected), json.readTree(r.body()).at("/choices/0/text").asText());
        }
    }

    /** Opens a Forward stream to {@code stage0} at {@code epoch} with an empty step; returns how the stream ended. */
    private static Status forwardWithEpoch(Worker stage0, List<Worker> workers, long epoch) throws InterruptedException {
        PipelineRoute.Builder route = PipelineRoute.newBuilder().setModelFingerprint(stage0.info().getModelFingerprint());
        workers.stream().map(Worker::info).sorted(java.util.Comparator.comparingInt(WorkerInfo::getFirstLayer))
                .forEach(w -> route.addStages(StageEndpoint.newBuilder().setWorkerId(w.getWorkerId())
                        .setAddress(w.getHost() + ":" + w.getPort()).setFirstLayer(w.getFirstLayer()).setLastLayer(w.getLastLayer())));
        ManagedChannel ch = NettyChannelBuilder.forTarget(stage0.address()).usePlaintext().build();
        try {
            CompletableFuture<Status> ended = new CompletableFuture<>();
            StreamObserver<StepInput> in = StageGrpc.newStub(ch).forward(new StreamObserver<>() {
                @Override public void onNext(StepOutput value) { }
                @Override public void onError(Throwable t) { ended.complete(Status.fromThrowable(t)); }
                @Override public void onCompleted() { ended.complete(Status.OK); }
            });
            in.onNext(StepInput.newBuilder().setStep(1).setEpoch(epoch).setRoute(route).build());
            try {
                return ended.get(10, TimeUnit.SECONDS);
            } catch (Exception e) {
                in.onCompleted();
                return Status.UNKNOWN.withDescription("the stream was neither refused nor ended: " + e);
            }
        } finally {
            ch.shutdownNow();
        }
    }
}
