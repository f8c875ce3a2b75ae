package dev.tessera.coordinator.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.coordinator.engine.FakeStage;
import dev.tessera.coordinator.engine.ReplicaRoute;
import dev.tessera.coordinator.engine.ReplicaSet;
import dev.tessera.coordinator.metrics.Exposition;
import dev.tessera.coordinator.metrics.ServingMetrics;
import dev.tessera.coordinator.text.HarmonyTokens;
import dev.tessera.coordinator.text.Tokenizer;
import dev.tessera.proto.v1.FinishReason;
import dev.tessera.proto.v1.GenerateRequest;
import dev.tessera.proto.v1.GenerateResponse;
import dev.tessera.proto.v1.InferenceGrpc;
import dev.tessera.proto.v1.ListModelsRequest;
import dev.tessera.proto.v1.SamplingParams;
import dev.tessera.proto.v1.StageEndpoint;
import dev.tessera.proto.v1.TokenIds;
import io.grpc.Context;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.stub.StreamObserver;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.IntUnaryOperator;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The Inference service, engine loop and replica set over real gRPC (in-process transport), with a one-stage
 * {@link FakeStage} replica whose "model" samples {@code next(last token)}.
 */
class InferenceServiceTest {

    private static final int VOCAB = HarmonyTokens.VOCAB_SIZE;
    private final List<AutoCloseable> closers = new ArrayList<>();
    private final ExecutorService streams = Executors.newFixedThreadPool(2);
    private FakeStage stage;
    private ReplicaSet replicas;
    private InferenceGrpc.InferenceBlockingStub blocking;
    private InferenceGrpc.InferenceStub async;
    private volatile boolean leader = true;
    private ServingMetrics metrics;

    private void start(IntUnaryOperator next, int kvBlocks, int maxLive) throws Exception {
        stage = new FakeStage(next);
        String stageName = InProcessServerBuilder.generateName();
        // NOTE: not directExecutor: the stage answers on its own threads, as a remote stage would.
        Server stageServer = InProcessServerBuilder.forName(stageName).addService(stage).build().start();
        closers.add(() -> stageServer.shutdownNow().awaitTermination(5, TimeUnit.SECONDS));
        ManagedChannel stageChannel = InProcessChannelBuilder.forName(stageName).directExecutor().build();
        closers.add(stageChannel::shutdownNow);
        replicas = new ReplicaSet(address -> stageChannel, ReplicaSet.Limits.DEFAULT, maxLive);
        closers.add(replicas::close);
        StageEndpoint endpoint = StageEndpoint.newBuilder().setWorkerId("w0").setAddress(stageName).setFirstLayer(0).setLastLayer(4).build();
        replicas.update(List.of(new ReplicaRoute("fake/0", "fake-model", "fp", List.of(endpoint), kvBlocks, 4, 0, VOCAB, 4096)), 1);

        ClusterView view = new ClusterView() {
            @Override public ReplicaSet replicaSet() { return leader ? replicas : null; }
            @Override public String leaderAddress() { return "10.0.0.9:50051"; }
            @Override public List<String> problems() { return List.of(); }
        };
        metrics = new ServingMetrics(view::replicaSet);
        String apiName = InProcessServerBuilder.generateName();
        Server api = InProcessServerBuilder.forName(apiName).addService(new InferenceService(view, streams, metrics)).build().start();
        closers.add(() -> api.shutdownNow().awaitTermination(5, TimeUnit.SECONDS));
        ManagedChannel channel = InProcessChannelBuilder.forName(apiName).build();
        closers.add(channel::shutdownNow);
        blocking = InferenceGrpc.newBlockingStub(channel).withDeadlineAfter(20, TimeUnit.SECONDS);
        async = InferenceGrpc.newStub(channel);
    }

    @AfterEach
    void stop() throws Exception {
        for (int i = closers.size() - 1; i >= 0; i--) closers.get(i).close();
        streams.shutdownNow();
    }

    private static GenerateRequest.Builder tokens(int... ids) {
        TokenIds.Builder t = TokenIds.newBuilder();
        for (int id : ids) t.addIds(id);
        return GenerateRequest.newBuilder().setTokenIds(t).setSampling(SamplingParams.newBuilder().setTemperature(0).setMaxTokens(5));
    }

    private static List<Integer> tokenIds(List<GenerateResponse> responses) {
        List<Integer> all = new ArrayList<>();
        responses.forEach(r -> all.addAll(r.getTokenIdsList()));
        return all;
    }

    private List<GenerateResponse> run(GenerateRequest req) {
        List<GenerateResponse> out = new ArrayList<>();
        blocking.generate(req).forEachRemaining(out::add);
        return out;
    }

    private static void await(BooleanSupplier condition, String what) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) throw new AssertionError("timed out waiting for " + what);
            Thread.sleep(5);
        }
    }

    @Test
    void streamsTokensAndEndsWithLengthAndUsage() throws Exception {
        start(t -> t + 1, 64, 100);
        List<GenerateResponse> out = run(tokens(10, 11, 12).setRequestId("r-1").build());
        assertEquals(List.of(13, 14, 15, 16, 17), tokenIds(out));
        GenerateResponse first = out.getFirst(), last = out.getLast();
        assertEquals("r-1", first.getRequestId());
        assertEquals(3, first.getPromptTokens());
        assertEquals(FinishReason.FINISH_REASON_LENGTH, last.getFinishReason());
        assertEquals(3, last.getUsage().getPromptTokens());
        assertEquals(5, last.getUsage().getCompletionTokens());
        for (int i = 0; i < out.size() - 1; i++) assertEquals(FinishReason.FINISH_REASON_UNSPECIFIED, out.get(i).getFinishReason());
        StringBuilder text = new StringBuilder();
        out.forEach(r -> text.append(r.getText()));
        assertEquals(Tokenizer.shared().decode(new int[] {13, 14, 15, 16, 17}), text.toString());
    }

    @Test
    void maxTokensBeyondTheContextIsClippedEvenPast2To31() throws Exception {
        start(t -> (t + 1) % 1000, 64, 100); // 64 blocks of 4: 256 positions
        List<GenerateResponse> out = run(tokens(1).setSampling(SamplingParams.newBuilder().setTemperature(0).setMaxTokens(-1)).build());
        assertEquals(FinishReason.FINISH_REASON_LENGTH, out.getLast().getFinishReason());
        assertEquals(255, out.getLast().getUsage().getCompletionTokens(), "uint32 4294967295 clipped to the 255 free positions");
    }

    @Test
    void aStopTokenEndsTheStreamAndIsNotRendered() throws Exception {
        start(t -> t == 12 ? HarmonyTokens.RETURN : t + 1, 64, 100);
        List<GenerateResponse> out = run(tokens(10).build());
        assertEquals(List.of(11, 12, HarmonyTokens.RETURN), tokenIds(out));
        assertEquals(FinishReason.FINISH_REASON_STOP, out.getLast().getFinishReason());
        assertEquals(HarmonyTokens.RETURN, out.getLast().getStopTokenId());
        StringBuilder text = new StringBuilder();
        out.forEach(r -> text.append(r.getText()));
        assertFalse(text.toString().contains("<|return|>"));
    }

    @Test
    void aStopStringEndsTheStreamAcrossTokens() throws Exception {
        int[] chain = Tokenizer.shared().encode("Hello world. The end is near, really.");
        Map<Integer, Integer> successor = new HashMap<>();
        for (int i = 0; i + 1 < chain.length; i++) successor.put(chain[i], chain[i + 1]);
        start(t -> successor.getOrDefault(t, 13), 64, 100);
        GenerateRequest req = tokens(chain[0]).setSampling(SamplingParams.newBuilder().setTemperature(0).setMaxTokens(40))
                .addStopStrings("end is").build();
        List<GenerateResponse> out = run(req);
        StringBuilder text = new StringBuilder();
        out.forEach(r -> text.append(r.getText()));
        assertEquals(" world. The ", text.toString());
        assertEquals(FinishReason.FINISH_REASON_STOP, out.getLast().getFinishReason());
        assertEquals("end is", out.getLast().getStopString());
        await(() -> stage.blocksInUse() == 0, "the stopped sequence's blocks to be freed on the stage");
    }

    @Test
    void badRequestsAreRefusedWithADescription() throws Exception {
        start(t -> t + 1, 64, 100);
        Map<GenerateRequest, String> cases = new HashMap<>();
        cases.put(GenerateRequest.newBuilder().build(), "no prompt");
        cases.put(tokens().build(), "empty");
        cases.put(tokens(VOCAB).build(), "outside the vocabulary");
        cases.put(tokens(1).setSampling(SamplingParams.newBuilder().setTemperature(-1)).build(), "temperature");
        cases.put(tokens(1).setSampling(SamplingParams.newBuilder().setTopP(1.5f)).build(), "top_p");
        cases.put(tokens(1).setSampling(SamplingParams.newBuilder().setTopLogprobs(50)).build(), "top_logprobs");
        cases.put(tokens(1).addStopStrings("").build(), "stop string");
        cases.put(tokens(1).addStopTokenIds(VOCAB + 5).build(), "stop_token_ids");
        cases.put(tokens(new int[4096]).build(), "positions");
        cases.put(tokens(1).setSampling(SamplingParams.newBuilder().setTopLogprobs(Integer.MIN_VALUE)).build(), "top_logprobs");
        cases.put(tokens(-5).build(), "outside the vocabulary"); // uint32 4294967291 on the wire
        for (Map.Entry<GenerateRequest, String> c : cases.entrySet()) {
            StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> run(c.getKey()), c.getValue());
            assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatus().getCode(), c.getValue());
            assertTrue(e.getStatus().getDescription().contains(c.getValue()), e.getStatus().getDescription());
        }
        StatusRuntimeException model = assertThrows(StatusRuntimeException.class, () -> run(tokens(1).setModel("gpt-9").build()));
        assertEquals(Status.Code.NOT_FOUND, model.getStatus().getCode());
        leader = false;
        StatusRuntimeException standby = assertThrows(StatusRuntimeException.class, () -> run(tokens(1).build()));
        assertEquals(Status.Code.UNAVAILABLE, standby.getStatus().getCode());
        assertTrue(standby.getStatus().getDescription().contains("10.0.0.9:50051"));
        assertEquals(0, stage.everSeen.size(), "no refused request reached a stage");
    }

    @Test
    void cancellingAStreamFreesItsBlocksOnTheStage() throws Exception {
        start(t -> (t + 1) % 1000, 64, 100);
        stage.pauseAfterSteps = 3;
        Context.CancellableContext ctx = Context.current().withCancellation();
        Iterator<GenerateResponse> it = ctx.call(() -> blocking.generate(
                tokens(1, 2, 3, 4, 5, 6, 7, 8, 9).setSampling(SamplingParams.newBuilder().setTemperature(0).setMaxTokens(200)).build()));
        it.next();
        assertEquals(3, stage.blocksInUse(), "10 positions in blocks of 4");
        ctx.cancel(null);
        stage.resume.countDown();
        await(() -> stage.blocksInUse() == 0 && replicas.live() == 0, "the cancelled sequence's blocks to be freed");
        assertNull(stage.violation);
    }

    @Test
    void aFullCoordinatorAnswersResourceExhaustedAtOnce() throws Exception {
        start(t -> (t + 1) % 1000, 64, 1);
        stage.pauseAfterSteps = 1;
        Context.CancellableContext ctx = Context.current().withCancellation();
        Iterator<GenerateResponse> running = ctx.call(() -> blocking.generate(
                tokens(1).setSampling(SamplingParams.newBuilder().setTemperature(0).setMaxTokens(2000)).build()));
        running.next();
        StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> run(tokens(1).build()));
        assertEquals(Status.Code.RESOURCE_EXHAUSTED, e.getStatus().getCode());
        assertTrue(e.getStatus().getDescription().contains("capacity"), e.getStatus().getDescription());
        assertEquals(1, scrape().value("tessera:requests_rejected_total", "reason", "overloaded"));
        ctx.cancel(null);
        stage.resume.countDown();
    }

    @Test
    void manyConcurrentStreamsEachGetTheirOwnTokens() throws Exception {
        start(t -> t + 1, 256, 100);
        int n = 48;
        CountDownLatch done = new CountDownLatch(n);
        List<List<Integer>> results = new ArrayList<>();
        List<Throwable> errors = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            List<Integer> got = new ArrayList<>();
            results.add(got);
            int length = 1 + i % 7;
            async.generate(tokens(1000 * (i + 1)).setSampling(SamplingParams.newBuilder().setTemperature(0).setMaxTokens(3 + i % 11)).build(),
                    new StreamObserver<>() {
                        @Override public void onNext(GenerateResponse r) { synchronized (got) { got.addAll(r.getTokenIdsList()); } }
                        @Override public void onError(Throwable t) { synchronized (errors) { errors.add(t); } done.countDown(); }
                        @Override public void onCompleted() { done.countDown(); }
                    });
        }
        assertTrue(done.await(30, TimeUnit.SECONDS));
        assertTrue(errors.isEmpty(), errors.toString());
        for (int i = 0; i < n; i++) {
            List<Integer> expected = new ArrayList<>();
            for (int k = 1; k <= 3 + i % 11; k++) expected.add(1000 * (i + 1) + k);
            assertEquals(expected, results.get(i), "stream " + i);
        }
        await(() -> stage.blocksInUse() == 0, "every finished sequence's blocks to be freed");
    }

    @Test
    void listModelsNamesTheServedModel() throws Exception {
        start(t -> t + 1, 64, 100);
        var models = blocking.listModels(ListModelsRequest.getDefaultInstance()).getModelsList();
        assertEquals(1, models.size());
        assertEquals("fake-model", models.getFirst().getName());
        assertEquals(1, models.getFirst().getReadyReplicas());
        assertTrue(models.getFirst().getIsDefault());
        assertFalse(models.getFirst().getSimulated());
        assertEquals("", models.getFirst().getLatencyModel());
    }

    @Test
    void listModelsSaysWhenTheReplicasAreSimulated() throws Exception {
        start(t -> t + 1, 64, 100);
        StageEndpoint e = StageEndpoint.newBuilder().setWorkerId("s0").setAddress("sim").setFirstLayer(0).setLastLayer(4).build();
        String slow = "sim latency: 40.0 ms + 1.000 ms/token + 2.00 ms/sequence per step (test)";
        String fast = "sim latency: 4.0 ms + 0.100 ms/token + 0.20 ms/sequence per step (test)";
        replicas.update(List.of(
                new ReplicaRoute("sim/0", "fake-model", "sim-fp", List.of(e), 64, 4, 0, VOCAB, 4096, true, slow),
                new ReplicaRoute("sim/1", "fake-model", "sim-fp", List.of(e), 64, 4, 0, VOCAB, 4096, true, slow),
                new ReplicaRoute("sim/2", "fake-model", "sim-fp", List.of(e), 64, 4, 0, VOCAB, 4096, true, fast)), 1);
        var model = blocking.listModels(ListModelsRequest.getDefaultInstance()).getModels(0);
        assertEquals(3, model.getReadyReplicas());
        assertTrue(model.getSimulated());
        assertEquals(slow + "; " + fast, model.getLatencyModel());
    }

    private Exposition scrape() { return Exposition.parse(metrics.scrape()); }

    private static double success(Exposition text, String reason) {
        return text.value("tessera:request_success_total", "finished_reason", reason, "model", "fake-model");
    }

    @Test
    void everyRequestIsCountedOnceInTheScrapedMetrics() throws Exception {
        start(t -> t == 12 ? HarmonyTokens.RETURN : t + 1, 64, 100);
        assertEquals(5, tokenIds(run(tokens(20).build())).size());                  // length after 5
        assertEquals(3, tokenIds(run(tokens(10).build())).size());                  // 11, 12, <|return|>: stop
        assertThrows(StatusRuntimeException.class, () -> run(tokens().build()));    // invalid
        assertThrows(StatusRuntimeException.class, () -> run(tokens(1).setModel("gpt-9").build())); // not found

        // One cancelled while the stage holds its fourth step: it is running and holds KV blocks meanwhile.
        stage.pauseAfterSteps = stage.steps + 3;
        Context.CancellableContext ctx = Context.current().withCancellation();
        Iterator<GenerateResponse> it = ctx.call(() -> blocking.generate(
                tokens(100, 101, 102, 103, 104, 105, 106, 107, 108).setSampling(SamplingParams.newBuilder().setTemperature(0).setMaxTokens(200)).build()));
        it.next();
        await(() -> scrape().value("tessera:num_requests_running") == 1, "the running request to show");
        Exposition busy = scrape();
        double inUse = busy.value("tessera:kv_blocks_in_use", "model", "fake-model", "replica", "fake/0");
        assertTrue(inUse >= 3, "9 prompt positions and more in blocks of 4: " + inUse);
        assertEquals(inUse / 64, busy.value("tessera:kv_cache_usage_perc", "model", "fake-model", "replica", "fake/0"), 1e-12);
        assertEquals(64, busy.value("tessera:kv_blocks_total", "model", "fake-model", "replica", "fake/0"));
        assertEquals(0, busy.value("tessera:num_requests_waiting"));
        ctx.cancel(null);
        stage.resume.countDown();
        await(() -> success(scrape(), "abort") == 1, "the cancelled request to be counted");
        await(() -> replicas.live() == 0 && scrape().value("tessera:num_requests_running") == 0
                && scrape().value("tessera:kv_blocks_in_use", "model", "fake-model", "replica", "fake/0") == 0, "the replica to be idle");

        Exposition text = scrape();
        assertEquals(1, success(text, "length"));
        assertEquals(1, success(text, "stop"));
        assertEquals(1, success(text, "abort"));
        assertEquals(0, success(text, "error"));
        assertEquals(1, text.value("tessera:requests_rejected_total", "reason", "invalid"));
        assertEquals(1, text.value("tessera:requests_rejected_total", "reason", "not_found"));
        assertEquals(0, text.value("tessera:requests_rejected_total", "reason", "overloaded"));
        assertEquals(1 + 1 + 9, text.value("tessera:prompt_tokens_total", "model", "fake-model"));
        double generated = text.value("tessera:generation_tokens_total", "model", "fake-model");
        assertTrue(generated >= 5 + 3 + 1, "the cancelled one delivered at least one token: " + generated);
        assertEquals(generated, text.value("tessera:request_generation_tokens_sum", "model", "fake-model"));
        for (String h : List.of("time_to_first_token_seconds", "e2e_request_latency_seconds", "request_queue_time_seconds",
                "request_prompt_tokens", "request_generation_tokens"))
            assertEquals(3, text.value("tessera:" + h + "_count", "model", "fake-model"), h + ": one per accepted request");
        assertEquals(generated - 3, text.value("tessera:inter_token_latency_seconds_count", "model", "fake-model"),
                "a gap between each two consecutive tokens of a request");
        assertEquals(0, text.value("tessera:num_preemptions_total", "model", "fake-model"));
        assertEquals(1, text.value("tessera:is_leader"));
        assertEquals(1, text.value("tessera:replicas_ready"));

        leader = false;
        assertThrows(StatusRuntimeException.class, () -> run(tokens(1).build()));
        Exposition standby = scrape();
        assertEquals(1, standby.value("tessera:requests_rejected_total", "reason", "unavailable"));
        assertEquals(0, standby.value("tessera:is_leader"));
        assertEquals(0, standby.value("tessera:replicas_ready"));
        assertFalse(standby.has("tessera:kv_cache_usage_perc", "model", "fake-model", "replica", "fake/0"));
        assertEquals(3, success(standby, "length") + success(standby, "stop") + success(standby, "abort"), "counters outlive leadership");
    }
}
