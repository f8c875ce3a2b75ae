package dev.tessera.coordinator.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.coordinator.engine.Request;
import dev.tessera.coordinator.metrics.Exposition;
import dev.tessera.coordinator.metrics.ServingMetrics;
import dev.tessera.coordinator.scheduler.Finish;
import dev.tessera.coordinator.text.Tokenizer;
import dev.tessera.proto.v1.GenerateResponse;
import dev.tessera.proto.v1.SampledToken;
import dev.tessera.proto.v1.SamplingParams;
import io.grpc.stub.ServerCallStreamObserver;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * A response stream's measures, driven directly on a fake call: tokens that pile up while the client reads slowly
 * go out in one message, yet their inter-token gaps are the engine's, not the write's.
 */
class ResponseStreamMetricsTest {

    /** A call whose readiness the test sets; it records what the stream writes. */
    private static final class FakeCall extends ServerCallStreamObserver<GenerateResponse> {
        final List<GenerateResponse> sent = new ArrayList<>();
        volatile boolean ready;
        volatile boolean cancelled;
        boolean completed;
        Runnable onReady = () -> { };

        @Override public boolean isReady() { return ready; }
        @Override public boolean isCancelled() { return cancelled; }
        @Override public void setOnReadyHandler(Runnable r) { onReady = r; }
        @Override public void setOnCancelHandler(Runnable r) { }
        @Override public void setCompression(String compression) { }
        @Override public void disableAutoInboundFlowControl() { }
        @Override public void request(int count) { }
        @Override public void setMessageCompression(boolean enable) { }
        @Override public void onNext(GenerateResponse value) { sent.add(value); }
        @Override public void onError(Throwable t) { throw new AssertionError("unexpected error", t); }
        @Override public void onCompleted() { completed = true; }
    }

    private static SampledToken token(int id) { return SampledToken.newBuilder().setTokenId(id).build(); }

    private static ResponseStream stream(FakeCall call, ServingMetrics metrics) {
        return new ResponseStream(call, Runnable::run, Tokenizer.shared(), true, false, List.of(), new int[0], false,
                GenerateResponse.newBuilder().setRequestId("r"), metrics);
    }

    private static Request request(ResponseStream sink) {
        return new Request("r", "m", new int[] {1, 2, 3}, 10, new int[0], SamplingParams.getDefaultInstance(), 0, 1,
                Long.MAX_VALUE, sink);
    }

    @Test
    void coalescedTokensKeepTheirArrivalGaps() throws Exception {
        ServingMetrics metrics = new ServingMetrics(() -> null);
        FakeCall call = new FakeCall();
        ResponseStream stream = stream(call, metrics);
        Request request = request(stream);
        stream.bind(request);
        Thread.sleep(30);
        stream.onToken(token(7), 0);
        Thread.sleep(40);
        stream.onToken(token(8), 1);
        Thread.sleep(40);
        stream.onToken(token(9), 2);
        assertTrue(call.sent.isEmpty(), "a slow client got nothing yet");
        stream.onFinish(Finish.LENGTH, -1, null);

        assertEquals(1, call.sent.size(), "the three tokens and the finish went out in one message");
        assertEquals(List.of(7, 8, 9), call.sent.getFirst().getTokenIdsList());
        assertTrue(call.completed);
        Exposition text = Exposition.parse(metrics.scrape());
        String itl = "tessera:inter_token_latency_seconds";
        assertEquals(2, text.value(itl + "_count", "model", "m"));
        assertEquals(0, text.bucket(itl, "0.025", "model", "m"), "gaps of 40 ms, though written at the same instant");
        assertTrue(text.value(itl + "_sum", "model", "m") >= 0.08);
        String ttft = "tessera:time_to_first_token_seconds";
        assertEquals(1, text.value(ttft + "_count", "model", "m"));
        assertEquals(0, text.bucket(ttft, "0.02", "model", "m"), "the first token came 30 ms after the arrival");
        assertEquals(1, text.value("tessera:request_success_total", "finished_reason", "length", "model", "m"));
        assertEquals(3, text.value("tessera:generation_tokens_total", "model", "m"));
        assertEquals(3, text.value("tessera:prompt_tokens_total", "model", "m"));
        assertEquals(1, text.value("tessera:e2e_request_latency_seconds_count", "model", "m"));
        assertTrue(text.value("tessera:e2e_request_latency_seconds_sum", "model", "m") >= 0.11);
        assertFalse(text.has("tessera:request_queue_time_seconds_count", "model", "m"), "never scheduled by an engine");
    }

    @Test
    void aCancelledCallStillCountsItsRequestOnceAsAbort() {
        ServingMetrics metrics = new ServingMetrics(() -> null);
        FakeCall call = new FakeCall();
        call.ready = true;
        ResponseStream stream = stream(call, metrics);
        stream.bind(request(stream));
        stream.onToken(token(7), 0);
        call.cancelled = true;
        stream.onToken(token(8), 1);
        stream.onFinish(Finish.CANCELLED, -1, null);
        stream.onFinish(Finish.CANCELLED, -1, null); // a late duplicate is ignored
        Exposition text = Exposition.parse(metrics.scrape());
        assertEquals(1, text.value("tessera:request_success_total", "finished_reason", "abort", "model", "m"));
        assertEquals(1, text.value("tessera:e2e_request_latency_seconds_count", "model", "m"));
        assertEquals(2, text.value("tessera:generation_tokens_total", "model", "m"), "tokens handed over before the cancel");
    }
}
