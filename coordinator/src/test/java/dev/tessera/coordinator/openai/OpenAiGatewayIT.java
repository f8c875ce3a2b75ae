package dev.tessera.coordinator.openai;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tessera.coordinator.api.ClusterView;
import dev.tessera.coordinator.api.InferenceService;
import dev.tessera.coordinator.engine.FakeStage;
import dev.tessera.coordinator.engine.ReplicaRoute;
import dev.tessera.coordinator.engine.ReplicaSet;
import dev.tessera.coordinator.metrics.ServingMetrics;
import dev.tessera.coordinator.text.HarmonyTokens;
import dev.tessera.coordinator.text.Tokenizer;
import dev.tessera.proto.v1.StageEndpoint;
import io.grpc.Channel;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import java.util.function.IntUnaryOperator;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The HTTP gateway on a real Netty server on loopback, over the real Inference service, engine loop and replica set
 * (in-process gRPC), with a one-stage {@link FakeStage} whose "model" follows a script of harmony tokens.
 */
class OpenAiGatewayIT {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Tokenizer TOKENIZER = Tokenizer.shared();
    private final List<AutoCloseable> closers = new ArrayList<>();
    private final ExecutorService streams = Executors.newFixedThreadPool(2);
    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
    private FakeStage stage;
    private ServingMetrics metrics;
    private OpenAiGateway gateway;
    private volatile boolean leader = true;

    /** The boundary of the gateway: its way to a leader, here the in-process service, or none ("standby"). */
    private final class FakeUpstream implements Upstream {
        final Channel channel;

        FakeUpstream(Channel channel) { this.channel = channel; }

        @Override
        public Channel channel() throws ApiError.Refusal {
            if (!leader) throw ApiError.unavailable("no coordinator leads the cluster right now").refusal();
            return channel;
        }

        @Override
        public Health health() { return leader ? new Health(true, "leader", "1 replica(s) ready") : new Health(false, "standby", "no leader"); }
    }

    /** A model that says {@code text} (harmony, special names become ids), then repeats {@code <|endoftext|>}. */
    private static IntUnaryOperator says(String text) {
        int[] script = TOKENIZER.encodeWithSpecials(text);
        AtomicInteger next = new AtomicInteger();
        return last -> {
            int i = next.getAndIncrement();
            return i < script.length ? script[i] : HarmonyTokens.ENDOFTEXT;
        };
    }

    private void start(IntUnaryOperator model, int maxLive, List<String> keys) throws Exception {
        stage = new FakeStage(model);
        String stageName = InProcessServerBuilder.generateName();
        Server stageServer = InProcessServerBuilder.forName(stageName).addService(stage).build().start();
        closers.add(() -> stageServer.shutdownNow().awaitTermination(5, TimeUnit.SECONDS));
        ManagedChannel stageChannel = InProcessChannelBuilder.forName(stageName).directExecutor().build();
        closers.add(stageChannel::shutdownNow);
        ReplicaSet replicas = new ReplicaSet(address -> stageChannel, ReplicaSet.Limits.DEFAULT, maxLive);
        closers.add(replicas::close);
        StageEndpoint endpoint = StageEndpoint.newBuilder().setWorkerId("w0").setAddress(stageName).setFirstLayer(0).setLastLayer(4).build();
        replicas.update(List.of(new ReplicaRoute("fake/0", "gpt-oss-test", "fp", List.of(endpoint), 256, 16, 0,
                HarmonyTokens.VOCAB_SIZE, 4096)), 1);
        ClusterView view = new ClusterView() {
            @Override public ReplicaSet replicaSet() { return replicas; }
            @Override public String leaderAddress() { return null; }
            @Override public List<String> problems() { return List.of(); }
        };
        metrics = new ServingMetrics(() -> replicas);
        String apiName = InProcessServerBuilder.generateName();
        Server api = InProcessServerBuilder.forName(apiName).addService(new InferenceService(view, streams, metrics)).build().start();
        closers.add(() -> api.shutdownNow().awaitTermination(5, TimeUnit.SECONDS));
        ManagedChannel channel = InProcessChannelBuilder.forName(apiName).build();
        closers.add(channel::shutdownNow);
        gateway = OpenAiGateway.start(GatewayConfig.of("127.0.0.1", 0).withApiKeys(keys), new FakeUpstream(channel), TOKENIZER,
                new GatewayMetrics() {
                    @Override public String scrape() { return metrics.scrape(); }
                    @Override public void httpRequest(String route, int status) { metrics.httpRequest(route, status); }
                });
        closers.add(gateway::close);
    }

    private void start(IntUnaryOperator model) throws Exception { start(model, 100, List.of()); }

    @AfterEach
    void stop() throws Exception {
        for (int i = closers.size() - 1; i >= 0; i--) closers.get(i).close();
        streams.shutdownNow();
    }

    private HttpResponse<String> post(String path, String body, String... headers) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + gateway.port() + path))
                .POST(HttpRequest.BodyPublishers.ofString(body)).header("Content-Type", "application/json");
        for (int i = 0; i < headers.length; i += 2) b.header(headers[i], headers[i + 1]);
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    private HttpResponse<String> get(String path) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + gateway.port() + path)).GET().build(),
                HttpResponse.BodyHandlers.ofString());
    }

    /** The JSON events of an SSE body, checking its framing and the final [DONE]. */
    private static List<JsonNode> events(String body) throws Exception {
        assertTrue(body.endsWith("data: [DONE]\n\n"), body);
        List<JsonNode> out = new ArrayList<>();
        for (String event : body.substring(0, body.length() - "data: [DONE]\n\n".length()).split("\n\n")) {
            assertTrue(event.startsWith("data: ") && !event.contains("\n"), event);
            out.add(JSON.readTree(event.substring(6)));
        }
        return out;
    }

    private static void await(BooleanSupplier condition, String what) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) throw new AssertionError("timed out waiting for " + what);
            Thread.sleep(5);
        }
    }

    private static final String ANSWER = "<|channel|>analysis<|message|>User asks: \"What is 2 + 2?\" Simple arithmetic."
            + "<|end|><|start|>assistant<|channel|>final<|message|>2 + 2 = 4.<|return|>";
    private static final String CHAT = "{\"model\":\"gpt-oss-test\",\"messages\":[{\"role\":\"user\",\"content\":\"What is 2 + 2?\"}]";

    @Test
    void aChatCompletionSeparatesReasoningFromTheAnswer() throws Exception {
        start(says(ANSWER));
        HttpResponse<String> r = post("/v1/chat/completions", CHAT + "}");
        assertEquals(200, r.statusCode(), r.body());
        JsonNode body = JSON.readTree(r.body());
        assertEquals("chat.completion", body.get("object").asText());
        assertEquals("gpt-oss-test", body.get("model").asText());
        JsonNode message = body.at("/choices/0/message");
        assertEquals("assistant", message.get("role").asText());
        assertEquals("2 + 2 = 4.", message.get("content").asText());
        assertEquals("User asks: \"What is 2 + 2?\" Simple arithmetic.", message.get("reasoning_content").asText());
        assertEquals("stop", body.at("/choices/0/finish_reason").asText());
        int completion = TOKENIZER.encodeWithSpecials(ANSWER).length;
        assertEquals(completion, body.at("/usage/completion_tokens").asInt());
        assertEquals(body.at("/usage/prompt_tokens").asInt() + completion, body.at("/usage/total_tokens").asInt());
    }

    @Test
    void aStreamedChatCompletionSendsTheRoleThenDeltasThenUsageThenDone() throws Exception {
        start(says(ANSWER));
        HttpResponse<String> r = post("/v1/chat/completions", CHAT + ",\"stream\":true,\"stream_options\":{\"include_usage\":true}}");
        assertEquals(200, r.statusCode(), r.body());
        assertTrue(r.headers().firstValue("content-type").orElse("").startsWith("text/event-stream"));
        List<JsonNode> chunks = events(r.body());
        assertEquals("assistant", chunks.getFirst().at("/choices/0/delta/role").asText());
        StringBuilder content = new StringBuilder(), reasoning = new StringBuilder();
        List<String> finishes = new ArrayList<>();
        for (JsonNode c : chunks) {
            assertEquals("chat.completion.chunk", c.get("object").asText());
            assertEquals(chunks.getFirst().get("id").asText(), c.get("id").asText());
            if (c.get("choices").isEmpty()) continue;
            content.append(c.at("/choices/0/delta/content").asText(""));
            reasoning.append(c.at("/choices/0/delta/reasoning_content").asText(""));
            if (c.at("/choices/0/finish_reason").isTextual()) finishes.add(c.at("/choices/0/finish_reason").asText());
        }
        assertEquals("2 + 2 = 4.", content.toString());
        assertEquals("User asks: \"What is 2 + 2?\" Simple arithmetic.", reasoning.toString());
        assertEquals(List.of("stop"), finishes);
        JsonNode usage = chunks.getLast();
        assertTrue(usage.get("choices").isEmpty(), usage.toString());
        assertEquals(TOKENIZER.encodeWithSpecials(ANSWER).length, usage.at("/usage/completion_tokens").asInt());
        assertTrue(chunks.get(1).get("usage").isNull(), "with include_usage, other chunks carry usage: null");
    }

    @Test
    void aToolCallComesBackAsToolCallsWithItsArguments() throws Exception {
        String call = "<|channel|>analysis<|message|>Need weather.<|end|><|start|>assistant<|channel|>commentary "
                + "to=functions.get_weather <|constrain|>json<|message|>{\"city\":\"Paris\"}<|call|>";
        start(says(call));
        String tools = ",\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"parameters\":"
                + "{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\"}},\"required\":[\"city\"]}}}]";
        JsonNode body = JSON.readTree(post("/v1/chat/completions", CHAT + tools + "}").body());
        assertEquals("tool_calls", body.at("/choices/0/finish_reason").asText(), body.toString());
        JsonNode toolCall = body.at("/choices/0/message/tool_calls/0");
        assertEquals("function", toolCall.get("type").asText());
        assertEquals("get_weather", toolCall.at("/function/name").asText());
        assertEquals("{\"city\":\"Paris\"}", toolCall.at("/function/arguments").asText());
        assertTrue(toolCall.get("id").asText().startsWith("call_"));
        assertTrue(body.at("/choices/0/message/content").isNull(), body.toString());
    }

    @Test
    void aStopStringCutsTheContentAndFreesTheSequence() throws Exception {
        start(says("<|channel|>final<|message|>one, two, three, four<|return|>"));
        JsonNode body = JSON.readTree(post("/v1/chat/completions", CHAT + ",\"stop\":[\", three\"]}").body());
        assertEquals("one, two", body.at("/choices/0/message/content").asText(), body.toString());
        assertEquals("stop", body.at("/choices/0/finish_reason").asText());
        await(() -> stage.blocksInUse() == 0, "the stopped request's blocks to be freed");
    }

    @Test
    void rawCompletionsStreamTheServicesText() throws Exception {
        start(t -> t + 1);
        int[] prompt = TOKENIZER.encode("Hello");
        JsonNode body = JSON.readTree(post("/v1/completions", "{\"prompt\":[" + prompt[0] + "],\"max_tokens\":5,\"logprobs\":2}").body());
        int[] expected = {prompt[0] + 1, prompt[0] + 2, prompt[0] + 3, prompt[0] + 4, prompt[0] + 5};
        assertEquals("text_completion", body.get("object").asText(), body.toString());
        assertEquals(TOKENIZER.decode(expected), body.at("/choices/0/text").asText());
        assertEquals("length", body.at("/choices/0/finish_reason").asText());
        assertEquals(5, body.at("/choices/0/logprobs/tokens").size(), body.toString());
        String streamed = post("/v1/completions", "{\"prompt\":[" + prompt[0] + "],\"max_tokens\":5,\"stream\":true}").body();
        StringBuilder text = new StringBuilder();
        for (JsonNode c : events(streamed)) text.append(c.at("/choices/0/text").asText(""));
        assertEquals(TOKENIZER.decode(expected), text.toString());
    }

    @Test
    void badRequestsGetOpenAiErrorsWithTheRightStatus() throws Exception {
        start(t -> t + 1);
        record Case(String path, String body, int status, String param, String mentions) {}
        List<Case> cases = List.of(
                new Case("/v1/chat/completions", "{not json", 400, null, "not valid JSON"),
                new Case("/v1/chat/completions", "[1,2]", 400, null, "JSON object"),
                new Case("/v1/chat/completions", "{}", 400, "messages", "messages"),
                new Case("/v1/chat/completions", CHAT + ",\"temperature\":\"hot\"}", 400, "temperature", "must be a number"),
                new Case("/v1/chat/completions", CHAT + ",\"temperature\":3}", 400, "temperature", "between 0 and 2"),
                new Case("/v1/chat/completions", CHAT + ",\"n\":2}", 400, "n", "n=1"),
                new Case("/v1/chat/completions", CHAT + ",\"logprobs\":true,\"top_logprobs\":9}", 400, "top_logprobs", "between 0 and 5"),
                new Case("/v1/chat/completions", CHAT + ",\"max_tokens\":0}", 400, "max_tokens", "at least 1"),
                new Case("/v1/chat/completions", "{\"messages\":[{\"role\":\"wizard\",\"content\":\"x\"}]}", 400, "messages[0].role", "wizard"),
                new Case("/v1/chat/completions", "{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"image_url\"}]}]}", 400, "messages[0].content[0].type", "text"),
                new Case("/v1/chat/completions", "{\"messages\":[{\"role\":\"tool\",\"tool_call_id\":\"c9\",\"content\":\"x\"}]}", 400, "messages[0].tool_call_id", "c9"),
                new Case("/v1/chat/completions", CHAT + ",\"tool_choice\":{\"type\":\"function\",\"function\":{\"name\":\"nope\"}}}", 400, "tool_choice", "nope"),
                new Case("/v1/chat/completions", "{\"model\":\"gpt-9\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}", 404, null, "gpt-9"),
                new Case("/v1/completions", "{\"prompt\":[300000]}", 400, "prompt", "token id"),
                new Case("/v1/completions", "{\"prompt\":[\"a\",\"b\"]}", 400, "prompt", "one prompt"));
        for (Case c : cases) {
            HttpResponse<String> r = post(c.path(), c.body());
            assertEquals(c.status(), r.statusCode(), c + " -> " + r.body());
            JsonNode error = JSON.readTree(r.body()).get("error");
            assertTrue(error.get("message").asText().contains(c.mentions()), c + " -> " + r.body());
            if (c.param() != null) assertEquals(c.param(), error.get("param").asText(), r.body());
            assertTrue(error.has("type") && error.has("code"), r.body());
        }
        assertEquals(404, get("/v1/nothing").statusCode());
        assertEquals(405, get("/v1/chat/completions").statusCode());
        assertEquals(404, get("/v1/models/gpt-9").statusCode());
        assertEquals(0, stage.everSeen.size(), "no refused request reached a stage");
    }

    @Test
    void keysAreCheckedWhenConfigured() throws Exception {
        start(t -> t + 1, 100, List.of("k1", "k2"));
        assertEquals(401, get("/v1/models").statusCode());
        HttpResponse<String> wrong = post("/v1/completions", "{\"prompt\":\"x\"}", "Authorization", "Bearer k3");
        assertEquals(401, wrong.statusCode());
        assertEquals("authentication_error", JSON.readTree(wrong.body()).at("/error/type").asText());
        HttpResponse<String> ok = post("/v1/completions", "{\"prompt\":\"x\",\"max_tokens\":2}", "Authorization", "Bearer k2");
        assertEquals(200, ok.statusCode(), ok.body());
        assertEquals(200, get("/health").statusCode(), "health needs no key");
    }

    @Test
    void overloadIs429WithRetryAfterAndNoLeaderIs503() throws Exception {
        start(t -> t + 1, 1, List.of());
        stage.pauseAfterSteps = 0; // the first request holds the only slot
        HttpRequest first = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + gateway.port() + "/v1/completions"))
                .POST(HttpRequest.BodyPublishers.ofString("{\"prompt\":\"x\",\"max_tokens\":3}")).build();
        var pending = http.sendAsync(first, HttpResponse.BodyHandlers.ofString());
        await(() -> stage.steps > 0, "the first request to reach the stage");
        HttpResponse<String> second = post("/v1/completions", "{\"prompt\":\"y\"}");
        assertEquals(429, second.statusCode(), second.body());
        assertEquals("1", second.headers().firstValue("retry-after").orElse(""));
        stage.resume.countDown();
        assertEquals(200, pending.get(10, TimeUnit.SECONDS).statusCode());
        leader = false;
        HttpResponse<String> standby = post("/v1/completions", "{\"prompt\":\"y\"}");
        assertEquals(503, standby.statusCode());
        assertEquals(503, get("/health").statusCode());
    }

    @Test
    void aClientThatDisconnectsMidStreamCancelsItsRequest() throws Exception {
        start(t -> (t + 1) % 1000, 100, List.of());
        String body = "{\"prompt\":\"x\",\"max_tokens\":100000,\"stream\":true}";
        try (Socket s = new Socket("127.0.0.1", gateway.port())) {
            OutputStream out = s.getOutputStream();
            out.write(("POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: "
                    + body.length() + "\r\n\r\n" + body).getBytes(StandardCharsets.US_ASCII));
            out.flush();
            InputStream in = s.getInputStream();
            byte[] buf = new byte[4096];
            String seen = "";
            while (!seen.contains("data: ")) seen += new String(buf, 0, in.read(buf), StandardCharsets.US_ASCII);
            assertTrue(seen.startsWith("HTTP/1.1 200"), seen);
        }
        await(() -> stage.blocksInUse() == 0, "the stage to free the request's blocks");
        await(() -> metrics.scrape().contains("finished_reason=\"abort\""), "the request to be counted as aborted");
        assertFalse(stage.everSeen.isEmpty());
    }

    /** Writes raw bytes on one connection and reads until the server closes it. */
    private String rawExchange(String requests) throws Exception {
        try (Socket s = new Socket("127.0.0.1", gateway.port())) {
            s.setSoTimeout(10_000);
            s.getOutputStream().write(requests.getBytes(StandardCharsets.US_ASCII));
            s.getOutputStream().flush();
            return new String(s.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    @Test
    void pipelinedRequestsAreAnsweredInOrderAndAMalformedOneClosesTheConnection() throws Exception {
        start(t -> (t + 1) % 1000);
        String stream = "{\"prompt\":\"x\",\"max_tokens\":20,\"stream\":true}";
        String all = rawExchange("POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: " + stream.length() + "\r\n\r\n" + stream
                + "GET /v1/nothing HTTP/1.1\r\nHost: x\r\n\r\n"
                + "GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        int done = all.indexOf("data: [DONE]"), notFound = all.indexOf("HTTP/1.1 404"), health = all.indexOf("\"status\":\"ok\"");
        assertTrue(done > 0 && notFound > done && health > notFound, "in order: the stream, the 404, the health check:\n" + all);
        String malformed = rawExchange("GET /health HTTP/1.1\r\nHost: x\r\nBad Header: y\r\n\r\nGET /health HTTP/1.1\r\nHost: x\r\n\r\n");
        assertTrue(malformed.startsWith("HTTP/1.1 400"), malformed);
        assertTrue(malformed.toLowerCase().contains("connection: close"), malformed);
    }

    @Test
    void anHttp10StreamIsNotChunkedAndEndsWithTheConnection() throws Exception {
        start(t -> (t + 1) % 1000);
        String body = "{\"prompt\":\"x\",\"max_tokens\":3,\"stream\":true}";
        String all = rawExchange("POST /v1/completions HTTP/1.0\r\nContent-Length: " + body.length() + "\r\n\r\n" + body);
        assertTrue(all.startsWith("HTTP/1.0 200"), all);
        assertFalse(all.toLowerCase().contains("transfer-encoding"), all);
        assertTrue(all.endsWith("data: [DONE]\n\n"), all);
    }

    @Test
    void modelsHealthAndMetrics() throws Exception {
        start(says(ANSWER));
        JsonNode models = JSON.readTree(get("/v1/models").body());
        assertEquals("list", models.get("object").asText());
        assertEquals("gpt-oss-test", models.at("/data/0/id").asText());
        assertEquals("model", models.at("/data/0/object").asText());
        assertEquals(200, get("/v1/models/gpt-oss-test").statusCode());
        assertEquals("ok", JSON.readTree(get("/health").body()).get("status").asText());
        post("/v1/chat/completions", CHAT + "}");
        HttpResponse<String> m = get("/metrics");
        assertTrue(m.headers().firstValue("content-type").orElse("").startsWith("text/plain"));
        assertTrue(m.body().contains("tessera:request_success_total{"), m.body());
        assertTrue(m.body().contains("tessera:http_requests_total{"), m.body());
        assertTrue(m.body().contains("route=\"/v1/chat/completions\""), m.body());
    }
}
