package dev.tessera.coordinator.openai;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tessera.proto.v1.FinishReason;
import dev.tessera.proto.v1.GenerateRequest;
import dev.tessera.proto.v1.GenerateResponse;
import dev.tessera.proto.v1.Usage;
import io.grpc.Channel;
import io.grpc.Status;
import io.netty.handler.codec.http.HttpResponseStatus;
import java.util.concurrent.Executor;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One OpenAI completion request driven through the leader's Generate stream: the lifecycle that chat and text
 * completions share. Subclasses turn each GenerateResponse into a chunk (streaming) or into their running result,
 * and write the final body.
 *
 * <p>Flow: {@link #start} sends the request; each response is handled on the gRPC callback executor, one at a time;
 * with {@code stream} the next response is requested only once the previous chunk is on the socket. A client that
 * disconnects cancels the call, and the coordinator frees the request's KV blocks on every stage. A refusal before
 * the first token is an HTTP error; a failure after the event stream has begun is sent as an error event (the SDKs
 * raise it), followed by {@code [DONE]}.
 */
abstract class CompletionCall implements UpstreamCall.Handler {

    private static final Logger log = LoggerFactory.getLogger(CompletionCall.class);

    protected final HttpExchange exchange;
    protected final GenerationParams params;
    protected final String id;
    protected final long created = System.currentTimeMillis() / 1000;
    protected String model;
    protected int promptTokens;
    private int completionTokens;
    private volatile UpstreamCall call;   // set before the call starts, so every callback sees it
    private GenerateResponse last;     // the response that carried the finish reason
    private boolean finishedEarly;     // the gateway itself ended the generation (a chat stop string)

    CompletionCall(HttpExchange exchange, GenerationParams params, String id) {
        this.exchange = exchange;
        this.params = params;
        this.id = id;
        this.model = params.model();
    }

    final void start(Channel channel, GenerateRequest request, Executor executor) {
        UpstreamCall c = UpstreamCall.create(channel, executor);
        call = c;
        c.start(request, this);
        exchange.onDisconnect(() -> c.cancel("the HTTP client disconnected"));
    }

    /** Handles one response: returns a chunk to stream (or null), and updates the non-streamed result. */
    protected abstract ObjectNode consume(GenerateResponse response);

    /** The finish reason as OpenAI names it ("stop", "length", "tool_calls"). */
    protected abstract String finishReason(FinishReason reason);

    /** The chunk that carries the finish reason (streaming). */
    protected abstract ObjectNode finishChunk(String finishReason);

    /** The whole response body (not streaming). */
    protected abstract ObjectNode body(String finishReason, ObjectNode usage);

    /** The chunk sent first, before any content (chat sends the role); null for none. */
    protected ObjectNode firstChunk() { return null; }

    /**
     * Ends the generation from the gateway's side (a stop string matched in chat content): cancels the upstream
     * call and answers at once with finish reason "stop".
     */
    protected final void stopHere() {
        finishedEarly = true;
        call.cancel("stop string matched");
    }

    @Override
    public final void onResponse(GenerateResponse r) {
        if (finishedEarly || !exchange.isOpen()) return;
        try {
            if (!r.getModel().isEmpty()) model = r.getModel();
            if (r.getPromptTokens() > 0) promptTokens = r.getPromptTokens();
            completionTokens += r.getTokenIdsCount();
            if (r.getFinishReason() != FinishReason.FINISH_REASON_UNSPECIFIED) last = r;
            ObjectNode chunk = consume(r);
            if (!params.stream()) {
                call.requestNext();
                return;
            }
            if (!exchange.isStreaming()) {
                exchange.startEvents();
                ObjectNode first = firstChunk();
                if (first != null) exchange.event(first);
            }
            if (chunk != null) exchange.event(chunk).addListener(f -> call.requestNext());
            else call.requestNext();
        } catch (RuntimeException e) {
            call.cancel("the gateway failed");
            try {
                fail(GrpcErrors.internal("request " + id, e));
            } catch (RuntimeException again) {
                exchange.abort();
            }
        }
    }

    @Override
    public final void onClose(Status status) {
        try {
            if (finishedEarly) {
                finish("stop", last != null ? last.getUsage() : null);
            } else if (!status.isOk()) {
                if (status.getCode() == Status.Code.CANCELLED && !exchange.isOpen()) return; // the client left
                fail(GrpcErrors.toApiError(status, "request " + id));
            } else if (last == null) {
                fail(GrpcErrors.internal("request " + id, new IllegalStateException("the stream ended without a finish reason")));
            } else if (last.getFinishReason() == FinishReason.FINISH_REASON_CANCELLED) {
                fail(ApiError.unavailable("the server gave up the request: " + last.getError() + "; retry it"));
            } else if (last.getFinishReason() == FinishReason.FINISH_REASON_ERROR) {
                fail(GrpcErrors.internal("request " + id, new IllegalStateException(last.getError())));
            } else {
                finish(finishReason(last.getFinishReason()), last.getUsage());
            }
        } catch (RuntimeException e) {
            // NOTE: the response must still end, or a kept-alive client waits for it until its own timeout.
            log.error("request {}: could not write the end of the response", id, e);
            if (exchange.hasStarted()) exchange.abort();
            else exchange.error(GrpcErrors.internal("request " + id, e));
        }
    }

    private void finish(String reason, Usage usage) {
        ObjectNode usageJson = usage(usage);
        if (!params.stream()) {
            exchange.json(HttpResponseStatus.OK, body(reason, usageJson));
            return;
        }
        if (!exchange.isStreaming()) {
            exchange.startEvents();
            ObjectNode first = firstChunk();
            if (first != null) exchange.event(first);
        }
        exchange.event(finishChunk(reason));
        if (params.includeUsage()) {
            ObjectNode last = envelope(chunkObject());
            last.putArray("choices");
            last.set("usage", usageJson);
            exchange.event(last);
        }
        exchange.endEvents();
    }

    private void fail(ApiError error) {
        if (exchange.isStreaming()) {
            exchange.event(error.toJson());
            exchange.endEvents();
        } else {
            exchange.error(error);
        }
    }

    /** OpenAI's usage object; completion tokens count the stop token, as the service does. */
    protected ObjectNode usage(Usage usage) {
        ObjectNode u = JsonNodeFactory.instance.objectNode();
        int completion = usage == null ? completionTokens : usage.getCompletionTokens();
        int prompt = usage == null ? promptTokens : usage.getPromptTokens();
        u.put("prompt_tokens", prompt).put("completion_tokens", completion).put("total_tokens", prompt + completion);
        return u;
    }

    /** {@code "chat.completion.chunk"} or {@code "text_completion"}. */
    protected abstract String chunkObject();

    /** The fields every chunk and body carries: id, object, created, model. */
    protected final ObjectNode envelope(String object) {
        ObjectNode o = JsonNodeFactory.instance.objectNode();
        o.put("id", id).put("object", object).put("created", created).put("model", model);
        if (params.stream() && params.includeUsage() && object.equals(chunkObject())) o.putNull("usage");
        return o;
    }
}
