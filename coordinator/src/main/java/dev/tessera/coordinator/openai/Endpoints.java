package dev.tessera.coordinator.openai;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tessera.coordinator.harmony.HarmonyParser;
import dev.tessera.coordinator.harmony.HarmonyRenderer;
import dev.tessera.coordinator.text.Tokenizer;
import dev.tessera.proto.v1.GenerateRequest;
import dev.tessera.proto.v1.TokenIds;
import dev.tessera.proto.v1.InferenceGrpc;
import dev.tessera.proto.v1.ListModelsRequest;
import dev.tessera.proto.v1.ListModelsResponse;
import dev.tessera.proto.v1.ModelInfo;
import io.grpc.StatusRuntimeException;
import io.netty.handler.codec.http.HttpResponseStatus;
import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The gateway's endpoints, each turning an HTTP request into calls on the leader's Inference service. */
final class Endpoints {

    private static final Logger log = LoggerFactory.getLogger(Endpoints.class);
    private static final long STARTED = System.currentTimeMillis() / 1000;

    private final Upstream upstream;
    private final Tokenizer tokenizer;
    private final TokenTexts tokenTexts;
    private final HarmonyRenderer renderer;
    private final ExecutorService callbacks;
    private final SecureRandom random = new SecureRandom();

    Endpoints(Upstream upstream, Tokenizer tokenizer, ExecutorService callbacks) {
        this.upstream = upstream;
        this.tokenizer = tokenizer;
        this.tokenTexts = new TokenTexts(tokenizer);
        this.renderer = new HarmonyRenderer(tokenizer);
        this.callbacks = callbacks;
    }

    /** OpenAI-style ids: a prefix and 24 random hex digits. */
    String newId(String prefix) {
        byte[] b = new byte[12];
        random.nextBytes(b);
        return prefix + HexFormat.of().formatHex(b);
    }

    void chat(HttpExchange exchange, JsonNode body) throws ApiError.Refusal {
        ChatRequest request = ChatRequest.parse(JsonFields.body(body));
        String id = newId("chatcmpl-");
        if (request.params().user() != null) log.debug("{} for user {}", id, request.params().user());
        int[] prompt = renderer.render(request.prompt());
        String forced = request.prompt().forcedFunction();
        HarmonyParser parser = forced == null ? new HarmonyParser(tokenizer, () -> newId("call_"))
                : HarmonyParser.continuingToolCall(tokenizer, () -> newId("call_"), forced);
        TokenIds.Builder ids = TokenIds.newBuilder();
        for (int t : prompt) ids.addIds(t);
        // NOTE: the service's default stop set (<|return|>, <|call|>) ends a turn; text is decoded here, by the
        // harmony parser, so the service sends token ids only.
        GenerateRequest generate = GenerateRequest.newBuilder().setRequestId(id).setModel(request.params().model())
                .setTokenIds(ids).setSampling(request.params().sampling()).setOmitText(true).build();
        new ChatCompletionCall(exchange, request, id, parser, tokenTexts).start(upstream.channel(), generate, callbacks);
    }

    void completions(HttpExchange exchange, JsonNode body) throws ApiError.Refusal {
        CompletionRequest request = CompletionRequest.parse(JsonFields.body(body));
        String id = newId("cmpl-");
        if (request.params().user() != null) log.debug("{} for user {}", id, request.params().user());
        new TextCompletionCall(exchange, request, id, tokenTexts)
                .start(upstream.channel(), request.toGenerateRequest(id), callbacks);
    }

    void models(HttpExchange exchange) throws ApiError.Refusal {
        ObjectNode list = JsonNodeFactory.instance.objectNode().put("object", "list");
        ArrayNode data = list.putArray("data");
        for (ModelInfo m : listModels().getModelsList()) data.add(model(m));
        exchange.json(HttpResponseStatus.OK, list);
    }

    void model(HttpExchange exchange, String name) throws ApiError.Refusal {
        for (ModelInfo m : listModels().getModelsList())
            if (m.getName().equals(name)) {
                exchange.json(HttpResponseStatus.OK, model(m));
                return;
            }
        throw ApiError.notFound("the model '" + name + "' does not exist", "model_not_found").refusal();
    }

    private static ObjectNode model(ModelInfo m) {
        ObjectNode o = JsonNodeFactory.instance.objectNode();
        o.put("id", m.getName()).put("object", "model").put("created", STARTED).put("owned_by", "tessera")
                .put("max_model_len", m.getMaxContextTokens()).put("ready_replicas", m.getReadyReplicas());
        if (m.getSimulated()) o.put("simulated", true).put("latency_model", m.getLatencyModel());
        return o;
    }

    private ListModelsResponse listModels() throws ApiError.Refusal {
        try {
            return InferenceGrpc.newBlockingStub(upstream.channel()).withDeadlineAfter(10, TimeUnit.SECONDS)
                    .listModels(ListModelsRequest.getDefaultInstance());
        } catch (StatusRuntimeException e) {
            throw GrpcErrors.toApiError(e.getStatus(), "list models").refusal();
        }
    }

    void health(HttpExchange exchange) {
        Upstream.Health h = upstream.health();
        ObjectNode o = JsonNodeFactory.instance.objectNode();
        o.put("status", h.ready() ? "ok" : "unavailable").put("role", h.role());
        if (h.detail() != null) o.put("detail", h.detail());
        exchange.json(h.ready() ? HttpResponseStatus.OK : HttpResponseStatus.SERVICE_UNAVAILABLE, o);
    }
}
