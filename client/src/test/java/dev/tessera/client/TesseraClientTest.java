package dev.tessera.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.proto.v1.FinishReason;
import dev.tessera.proto.v1.GenerateRequest;
import dev.tessera.proto.v1.GenerateResponse;
import dev.tessera.proto.v1.ModelInfo;
import dev.tessera.proto.v1.SamplingParams;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The three ways to call Generate against a fake coordinator on the in-process transport. */
class TesseraClientTest {

    private final FakeInferenceService fake = new FakeInferenceService("A");
    private Server server;
    private ManagedChannel channel;
    private TesseraClient client;

    @BeforeEach
    void start() throws Exception {
        String name = InProcessServerBuilder.generateName();
        server = InProcessServerBuilder.forName(name).addService(fake).build().start();
        channel = InProcessChannelBuilder.forName(name).build();
        client = TesseraClient.of(channel, ClientOptions.DEFAULTS.withDeadline(Duration.ofSeconds(10)));
    }

    @AfterEach
    void stop() throws Exception {
        client.close();
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }

    static GenerateRequest request(int maxTokens) {
        return GenerateRequests.tokens(1, 2, 3).setSampling(GenerateRequests.greedy(maxTokens)).build();
    }

    static StatusRuntimeException status(Throwable t) {
        Throwable cause = t instanceof ExecutionException ? t.getCause() : t;
        return assertInstanceOf(StatusRuntimeException.class, cause);
    }

    @Test
    void blockingStreamYieldsEveryChunkThenTheCompletion() {
        List<Integer> tokens = new ArrayList<>();
        GenerateResponse last = null;
        try (GenerationStream stream = client.generate(request(5))) {
            while (stream.hasNext()) {
                last = stream.next();
                assertEquals(1, last.getTokenIdsCount(), "the fake sends one token per message");
                tokens.addAll(last.getTokenIdsList());
            }
            assertEquals(List.of(1000, 1001, 1002, 1003, 1004), tokens);
            assertEquals(FinishReason.FINISH_REASON_LENGTH, last.getFinishReason());
            Completion c = stream.completion();
            assertEquals(tokens, c.tokenIds());
            assertEquals("<1000><1001><1002><1003><1004>", c.text());
            assertFalse(stream.hasNext());
        }
        assertEquals(1, fake.cancelled.getCount(), "a finished stream is not cancelled by close()");
    }

    @Test
    void listenerGetsEveryChunkThenOnComplete() throws Exception {
        List<String> events = new ArrayList<>();
        CountDownLatch ended = new CountDownLatch(1);
        Completion[] completion = new Completion[1];
        Generation g = client.generate(request(3), new GenerationListener() {
            @Override
            public void onChunk(GenerateResponse chunk) {
                synchronized (events) { events.add("chunk " + chunk.getTokenIds(0)); }
            }

            @Override
            public void onComplete(Completion c) {
                synchronized (events) { events.add("complete " + c.finishReason()); }
                completion[0] = c;
                ended.countDown();
            }

            @Override
            public void onError(StatusRuntimeException e) {
                synchronized (events) { events.add("error " + e.getStatus()); }
                ended.countDown();
            }
        });
        assertTrue(ended.await(5, TimeUnit.SECONDS));
        synchronized (events) {
            assertEquals(List.of("chunk 1000", "chunk 1001", "chunk 1002", "complete FINISH_REASON_LENGTH"), events);
        }
        assertTrue(g.isDone());
        assertEquals(List.of(1000, 1001, 1002), completion[0].tokenIds());
        g.cancel(); // after the end: nothing
        assertEquals(1, fake.cancelled.getCount());
    }

    @Test
    void futureAssemblesTheWholeCompletion() throws Exception {
        GenerateRequest request = GenerateRequests.tokens(7, 8).setEchoPrompt(true).addStopTokenIds(1002)
                .setSampling(SamplingParams.newBuilder().setMaxTokens(10).setLogprobs(true)).build();
        Completion c = client.complete(request).get(5, TimeUnit.SECONDS);
        assertEquals("A-1", c.requestId());
        assertEquals(List.of(7, 8), c.promptTokenIds());
        assertEquals(2, c.promptTokens());
        assertEquals(7, c.seed());
        assertEquals(List.of(1000, 1001, 1002), c.tokenIds());
        assertEquals("<1000><1001>", c.text(), "the stop token is not rendered");
        assertEquals(FinishReason.FINISH_REASON_STOP, c.finishReason());
        assertEquals(new MatchedStop.Token(1002), c.matchedStop());
        assertEquals(List.of(-0.25f, -0.5f, -0.75f), c.logprobs().stream().map(l -> l.getLogprob()).toList());
        assertEquals(3, c.usage().getCompletionTokens());
        assertEquals("", c.error());
        assertTrue(c.succeeded());
    }

    @Test
    void finishReasonErrorCompletesWithTheServersReason() throws Exception {
        fake.errorText = "no replica could run the request after 2 moves";
        Completion c = client.complete(request(2)).get(5, TimeUnit.SECONDS);
        assertEquals(FinishReason.FINISH_REASON_ERROR, c.finishReason());
        assertEquals("no replica could run the request after 2 moves", c.error());
        assertEquals(List.of(1000, 1001), c.tokenIds());
        assertFalse(c.succeeded());
    }

    @Test
    void closingAStreamCancelsTheCallOnTheServer() throws Exception {
        fake.holdAfter = 2;
        GenerationStream stream = client.generate(request(10));
        assertEquals(1000, stream.next().getTokenIds(0));
        assertEquals(1001, stream.next().getTokenIds(0));
        assertTrue(fake.holding.await(5, TimeUnit.SECONDS));
        stream.close();
        assertTrue(fake.cancelled.await(5, TimeUnit.SECONDS), "the server saw the cancellation");
        assertEquals(Status.Code.CANCELLED, assertThrows(StatusRuntimeException.class, stream::hasNext).getStatus().getCode());
    }

    @Test
    void handleCancelReachesTheServerAndEndsTheListenerWithCancelled() throws Exception {
        fake.holdAfter = 1;
        CountDownLatch firstChunk = new CountDownLatch(1), ended = new CountDownLatch(1);
        StatusRuntimeException[] error = new StatusRuntimeException[1];
        Generation g = client.generate(request(10), new GenerationListener() {
            @Override
            public void onChunk(GenerateResponse chunk) { firstChunk.countDown(); }

            @Override
            public void onComplete(Completion c) { ended.countDown(); }

            @Override
            public void onError(StatusRuntimeException e) { error[0] = e; ended.countDown(); }
        });
        assertTrue(firstChunk.await(5, TimeUnit.SECONDS));
        assertFalse(g.isDone());
        g.cancel();
        assertTrue(fake.cancelled.await(5, TimeUnit.SECONDS), "the server saw the cancellation");
        assertTrue(ended.await(5, TimeUnit.SECONDS));
        assertEquals(Status.Code.CANCELLED, error[0].getStatus().getCode());
    }

    @Test
    void cancellingTheFutureCancelsTheCall() throws Exception {
        fake.holdAfter = 1;
        CompletableFuture<Completion> f = client.complete(request(10));
        assertTrue(fake.holding.await(5, TimeUnit.SECONDS));
        assertTrue(f.cancel(true));
        assertTrue(fake.cancelled.await(5, TimeUnit.SECONDS), "the server saw the cancellation");
    }

    @Test
    void aDeadlineEndsTheCallWithDeadlineExceeded() throws Exception {
        fake.holdAfter = 1;
        CompletableFuture<Completion> f = client.withDeadline(Duration.ofMillis(300)).complete(request(10));
        ExecutionException e = assertThrows(ExecutionException.class, () -> f.get(5, TimeUnit.SECONDS));
        assertEquals(Status.Code.DEADLINE_EXCEEDED, status(e).getStatus().getCode());
        assertTrue(fake.cancelled.await(5, TimeUnit.SECONDS), "the server saw the deadline as a cancellation");
    }

    @Test
    void serverErrorsSurfaceWithTheirStatusAndDescription() {
        GenerateRequest noPrompt = GenerateRequest.newBuilder().setSampling(GenerateRequests.greedy(4)).build();
        ExecutionException e = assertThrows(ExecutionException.class, () -> client.complete(noPrompt).get(5, TimeUnit.SECONDS));
        assertEquals(Status.Code.INVALID_ARGUMENT, status(e).getStatus().getCode());
        assertEquals("the prompt is empty: set text or token_ids", status(e).getStatus().getDescription());

        try (GenerationStream stream = client.generate(noPrompt)) {
            StatusRuntimeException thrown = assertThrows(StatusRuntimeException.class, stream::hasNext);
            assertEquals(Status.Code.INVALID_ARGUMENT, thrown.getStatus().getCode());
            assertEquals("the prompt is empty: set text or token_ids", thrown.getStatus().getDescription());
        }
    }

    @Test
    void aStreamThatEndsWithoutItsFinalMessageIsAnError() {
        fake.skipFinal = true;
        ExecutionException e = assertThrows(ExecutionException.class, () -> client.complete(request(3)).get(5, TimeUnit.SECONDS));
        assertEquals(Status.Code.INTERNAL, status(e).getStatus().getCode());
        assertTrue(status(e).getStatus().getDescription().contains("without a final message"), status(e).getMessage());
    }

    @Test
    void listModelsReturnsTheServersModels() {
        List<ModelInfo> models = client.listModels();
        assertEquals(List.of("gpt-oss-A"), models.stream().map(ModelInfo::getName).toList());
        assertTrue(models.getFirst().getIsDefault());
    }

    @Test
    void aClosedClientRefusesNewCallsAndItsViewsDoNotCloseIt() {
        client.withDeadline(Duration.ofSeconds(1)).close();
        assertEquals(1, client.listModels().size(), "closing a view leaves the client open");
        client.close();
        assertThrows(IllegalStateException.class, () -> client.complete(request(1)));
        assertFalse(channel.isShutdown(), "a borrowed channel is the caller's to shut down");
    }
}
