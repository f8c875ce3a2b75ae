package dev.tessera.coordinator.api;

import dev.tessera.coordinator.engine.Request;
import dev.tessera.coordinator.engine.TokenSink;
import dev.tessera.coordinator.scheduler.Finish;
import dev.tessera.coordinator.text.StopStrings;
import dev.tessera.coordinator.text.TextDecoder;
import dev.tessera.coordinator.text.Tokenizer;
import dev.tessera.proto.v1.FinishReason;
import dev.tessera.proto.v1.GenerateResponse;
import dev.tessera.proto.v1.SampledToken;
import dev.tessera.proto.v1.TokenLogprobs;
import dev.tessera.proto.v1.Usage;
import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * One Generate call's response stream: takes tokens from the engine loop, and on its own turn (a shared executor,
 * one drain at a time per stream) detokenizes them, matches stop strings and writes GenerateResponse messages.
 *
 * <p>NOTE: the engine loop only enqueues here; detokenizing and network writes stay off the scheduling thread.
 * When the client reads slowly ({@code isReady} false), tokens accumulate and go out coalesced in one message when
 * the transport is ready again; the queue is bounded by the request's max tokens.
 */
final class ResponseStream implements TokenSink {

    private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(ResponseStream.class);

    private record Event(SampledToken token, Finish finish, int stopTokenId, String error) {}

    private final ServerCallStreamObserver<GenerateResponse> out;
    private final Executor executor;
    private final ConcurrentLinkedQueue<Event> events = new ConcurrentLinkedQueue<>();
    private final AtomicInteger wip = new AtomicInteger();
    private final TextDecoder decoder;      // null with omit_text
    private final StopStrings stopStrings;  // null without stop strings
    private final int[] stopTokenIds;       // sorted
    private final boolean logprobs;
    private final int vocabulary;
    private final GenerateResponse.Builder first;
    private Request request;
    private boolean firstSent;
    private boolean closed;
    private int completionTokens;

    ResponseStream(ServerCallStreamObserver<GenerateResponse> out, Executor executor, Tokenizer tokenizer,
                   boolean omitText, boolean skipSpecial, List<String> stops, int[] stopTokenIds, boolean logprobs,
                   GenerateResponse.Builder first) {
        this.out = out;
        this.executor = executor;
        this.decoder = omitText ? null : new TextDecoder(tokenizer, skipSpecial ? TextDecoder.Specials.SKIP : TextDecoder.Specials.INCLUDE);
        this.stopStrings = omitText || stops.isEmpty() ? null : new StopStrings(stops);
        this.stopTokenIds = stopTokenIds.clone();
        Arrays.sort(this.stopTokenIds);
        this.logprobs = logprobs;
        this.vocabulary = tokenizer.vocabSize();
        this.first = first;
        out.setOnReadyHandler(this::drainLater);
    }

    void bind(Request request) { this.request = request; }

    @Override
    public void onToken(SampledToken token, int index) {
        events.add(new Event(token, null, -1, null));
        drainLater();
    }

    @Override
    public void onFinish(Finish finish, int stopTokenId, String error) {
        events.add(new Event(null, finish, stopTokenId, error));
        drainLater();
    }

    private void drainLater() {
        if (wip.getAndIncrement() == 0) executor.execute(this::drain);
    }

    private void drain() {
        do {
            try {
                if (!closed && (out.isReady() || hasFinish())) writeAvailable();
            } catch (RuntimeException e) {
                fail(e);
            }
        } while (wip.decrementAndGet() != 0);
    }

    /** A bug while writing must not wedge the stream: end the call with a status and the request with it. */
    private void fail(RuntimeException e) {
        if (closed) return;
        closed = true;
        events.clear();
        log.error("response stream of {} failed: {}", request, e.toString(), e);
        request.requestFinish(Finish.CANCELLED);
        try {
            out.onError(Status.INTERNAL.withDescription("the coordinator failed while streaming the response: " + e)
                    .asRuntimeException());
        } catch (RuntimeException ignored) {
            // the call is already closed
        }
    }

    private boolean hasFinish() {
        for (Event e : events) if (e.finish() != null) return true;
        return false;
    }

    /** Writes every queued token as one message; the finish, if queued, as the last one. */
    private void writeAvailable() {
        GenerateResponse.Builder msg = firstSent ? GenerateResponse.newBuilder() : first;
        StringBuilder text = new StringBuilder();
        Event finish = null;
        String matchedStop = null;
        for (Event e; (e = events.poll()) != null; ) {
            if (e.finish() != null) { finish = e; break; }
            SampledToken t = e.token();
            msg.addTokenIds(t.getTokenId());
            completionTokens++;
            if (logprobs) msg.addLogprobs(TokenLogprobs.newBuilder().setLogprob(t.getLogprob()).addAllTopLogprobs(t.getTopLogprobsList()));
            boolean stopToken = Arrays.binarySearch(stopTokenIds, t.getTokenId()) >= 0;
            // Ids past the tokenizer's vocabulary (a model with a larger one) have no text; their ids still go out.
            if (decoder != null && !stopToken && t.getTokenId() < vocabulary) {
                String piece = decoder.push(t.getTokenId());
                if (stopStrings != null) {
                    StopStrings.Result r = stopStrings.offer(piece);
                    text.append(r.text());
                    if (r.stopped()) { matchedStop = r.stop(); break; }
                } else {
                    text.append(piece);
                }
            }
        }
        if (matchedStop != null) {
            // NOTE: the stop string ends the request here; tokens sampled after it are not sent, and the engine
            // frees the sequence's blocks when it sees the request finished.
            events.clear();
            request.requestFinish(Finish.STOP);
            msg.setText(text.toString()).setStopString(matchedStop);
            finishMessage(msg, FinishReason.FINISH_REASON_STOP, null);
            return;
        }
        if (finish != null) {
            if (decoder != null) {
                String tail = decoder.flush();
                if (stopStrings != null) {
                    StopStrings.Result r = stopStrings.offer(tail);
                    text.append(r.text());
                    if (r.stopped()) matchedStop = r.stop(); else text.append(stopStrings.flush());
                } else {
                    text.append(tail);
                }
            }
            msg.setText(text.toString());
            if (matchedStop != null) msg.setStopString(matchedStop);
            else if (finish.finish() == Finish.STOP && finish.stopTokenId() >= 0) msg.setStopTokenId(finish.stopTokenId());
            finishMessage(msg, reason(finish.finish()), finish.error());
            return;
        }
        if (msg.getTokenIdsCount() == 0) return;
        msg.setText(text.toString());
        send(msg.build());
    }

    private void finishMessage(GenerateResponse.Builder msg, FinishReason reason, String error) {
        msg.setFinishReason(reason);
        if (error != null) msg.setError(error);
        msg.setUsage(Usage.newBuilder()
                .setPromptTokens(request.promptLength())
                .setCompletionTokens(completionTokens)
                .setQueueTimeUs(request.queueNanos() / 1000)
                .setTimeToFirstTokenUs(request.timeToFirstTokenNanos() / 1000)
                .setTotalTimeUs(request.ageNanos() / 1000)
                .setPreemptions(request.preemptions()));
        closed = true;
        if (out.isCancelled()) return;
        send(msg.build());
        out.onCompleted();
    }

    private void send(GenerateResponse msg) {
        if (out.isCancelled()) { closed = true; return; }
        firstSent = true;
        out.onNext(msg);
    }

    private static FinishReason reason(Finish f) {
        return switch (f) {
            case STOP -> FinishReason.FINISH_REASON_STOP;
            case LENGTH -> FinishReason.FINISH_REASON_LENGTH;
            case CANCELLED -> FinishReason.FINISH_REASON_CANCELLED;
            case ERROR -> FinishReason.FINISH_REASON_ERROR;
        };
    }
}
