package dev.tessera.coordinator.api;

import dev.tessera.coordinator.engine.Request;
import dev.tessera.coordinator.engine.TokenSink;
import dev.tessera.coordinator.metrics.FinishedRequest;
import dev.tessera.coordinator.metrics.ServingMetrics;
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
 *
 * <p>Metrics: the stream records its request's measures once, on its own turn: time to first token and each
 * inter-token gap by the times the engine handed the tokens over (so coalesced writes do not hide the engine's
 * pace), and at the end its finish, token counts, latencies and preemptions.
 */
final class ResponseStream implements TokenSink {

    private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(ResponseStream.class);

    /** A token or the finish, with {@link System#nanoTime()} when the engine handed it over. */
    private record Event(SampledToken token, long atNanos, Finish finish, int stopTokenId, String error) {}

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
    private final ServingMetrics metrics;
    private Request request;
    private boolean firstSent;
    private boolean closed;
    private int completionTokens;
    private long lastTokenNanos;   // when the previous token was handed over

    ResponseStream(ServerCallStreamObserver<GenerateResponse> out, Executor executor, Tokenizer tokenizer,
                   boolean omitText, boolean skipSpecial, List<String> stops, int[] stopTokenIds, boolean logprobs,
                   GenerateResponse.Builder first, ServingMetrics metrics) {
        this.out = out;
        this.executor = executor;
        this.decoder = omitText ? null : new TextDecoder(tokenizer, skipSpecial ? TextDecoder.Specials.SKIP : TextDecoder.Specials.INCLUDE);
        this.stopStrings = omitText || stops.isEmpty() ? null : new StopStrings(stops);
        this.stopTokenIds = stopTokenIds.clone();
        Arrays.sort(this.stopTokenIds);
        this.logprobs = logprobs;
        this.vocabulary = tokenizer.vocabSize();
        this.first = first;
        this.metrics = metrics;
        out.setOnReadyHandler(this::drainLater);
    }

    void bind(Request request) { this.request = request; }

    @Override
    public void onToken(SampledToken token, int index) {
        events.add(new Event(token, System.nanoTime(), null, -1, null));
        drainLater();
    }

    @Override
    public void onFinish(Finish finish, int stopTokenId, String error) {
        events.add(new Event(null, System.nanoTime(), finish, stopTokenId, error));
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
        close(Finish.ERROR);
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
            if (completionTokens == 1) metrics.timeToFirstToken(request.model(), e.atNanos() - request.arrivalNanos());
            else metrics.interTokenLatency(request.model(), e.atNanos() - lastTokenNanos);
            lastTokenNanos = e.atNanos();
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
            finishMessage(msg, Finish.STOP, null);
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
            finishMessage(msg, finish.finish(), finish.error());
            return;
        }
        if (msg.getTokenIdsCount() == 0) return;
        msg.setText(text.toString());
        send(msg.build());
    }

    private void finishMessage(GenerateResponse.Builder msg, Finish finish, String error) {
        msg.setFinishReason(reason(finish));
        if (error != null) msg.setError(error);
        msg.setUsage(Usage.newBuilder()
                .setPromptTokens(request.promptLength())
                .setCompletionTokens(completionTokens)
                .setQueueTimeUs(request.queueNanos() / 1000)
                .setTimeToFirstTokenUs(request.timeToFirstTokenNanos() / 1000)
                .setTotalTimeUs(request.ageNanos() / 1000)
                .setPreemptions(request.preemptions()));
        close(finish);
        if (out.isCancelled()) return;
        send(msg.build());
        out.onCompleted();
    }

    /** Closes the stream, once: nothing is written after, and the request's end is recorded as {@code finish}. */
    private void close(Finish finish) {
        if (closed) return;
        closed = true;
        // NOTE: Request reports a queue time of 0 until its first step is scheduled; one that never got a step (cancelled
        // or failed while it waited) has no queue time to observe. Its preemptions are read as the engine last wrote them:
        // after a stop string ends it here, the engine may still add the count of its last replica.
        long queued = request.queueNanos();
        try {
            metrics.requestFinished(new FinishedRequest(request.model(), finish, request.promptLength(), completionTokens,
                    request.ageNanos(), queued > 0 ? queued : -1, request.preemptions()));
        } catch (RuntimeException e) { // a metrics bug must not keep the response from ending
            log.error("cannot record the end of {}: {}", request, e.toString(), e);
        }
    }

    private void send(GenerateResponse msg) {
        if (out.isCancelled()) { close(Finish.CANCELLED); return; } // the engine hears of it from the cancel handler
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
