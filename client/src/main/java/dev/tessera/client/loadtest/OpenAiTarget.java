package dev.tessera.client.loadtest;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * Any OpenAI-compatible HTTP endpoint (Tessera's gateway, vLLM, SGLang...), streamed: {@code /v1/completions} with
 * the prompt as token ids or text and vLLM's {@code ignore_eos} for a fixed output length, or
 * {@code /v1/chat/completions} with the prompt as one user message. Each server-sent event with new text counts
 * as one message; the usage chunk ({@code stream_options.include_usage}) gives the exact token counts.
 *
 * <p>NOTE: each request reads its stream on its own virtual thread; thousands in flight cost little.
 */
public final class OpenAiTarget implements Target {

    public enum Endpoint { COMPLETIONS, CHAT }

    private static final ObjectMapper JSON = new ObjectMapper();
    private final URI base;
    private final String apiKey;
    private final String model;
    private final Endpoint endpoint;
    private final HttpClient http;
    private final ExecutorService readers = Executors.newVirtualThreadPerTaskExecutor();
    // Ends streams that outlive the request timeout: HttpClient's own timeout covers only the response headers.
    private final java.util.concurrent.ScheduledExecutorService deadlines = Executors.newSingleThreadScheduledExecutor(
            Thread.ofPlatform().daemon().name("loadtest-deadlines").factory());
    private final Duration timeout;

    /** @param baseUrl e.g. {@code http://127.0.0.1:8000/v1}; @param apiKey bearer key or null */
    public OpenAiTarget(String baseUrl, String apiKey, String model, Endpoint endpoint, Duration timeout) {
        this.base = URI.create(baseUrl.endsWith("/") ? baseUrl : baseUrl + "/");
        this.apiKey = apiKey;
        this.model = model;
        this.endpoint = endpoint;
        this.timeout = timeout;
        this.http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).executor(readers)
                .connectTimeout(Duration.ofSeconds(10)).build();
    }

    private HttpRequest.Builder request(String path) {
        HttpRequest.Builder b = HttpRequest.newBuilder(base.resolve(path)).timeout(timeout);
        if (apiKey != null) b.header("Authorization", "Bearer " + apiKey);
        return b;
    }

    @Override
    public void send(LoadRequest r, RequestTimeline timeline) {
        ObjectNode body = JSON.createObjectNode();
        if (!model.isEmpty()) body.put("model", model);
        body.put("max_tokens", r.outputTokens()).put("stream", true).putObject("stream_options").put("include_usage", true);
        if (endpoint == Endpoint.CHAT) {
            body.putArray("messages").addObject().put("role", "user").put("content", r.promptText() != null ? r.promptText() : "");
        } else {
            body.put("ignore_eos", true);
            if (r.promptIds() != null) {
                ArrayNode ids = body.putArray("prompt");
                for (int id : r.promptIds()) ids.add(id);
            } else {
                body.put("prompt", r.promptText());
            }
        }
        HttpRequest req = request(endpoint == Endpoint.CHAT ? "chat/completions" : "completions")
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body.toString())).build();
        http.sendAsync(req, HttpResponse.BodyHandlers.ofInputStream()).whenComplete((res, failure) -> {
            if (failure != null) {
                timeline.finish(System.nanoTime(), kind(failure), -1, 0);
                return;
            }
            readers.execute(() -> read(res, timeline));
        });
    }

    private static String kind(Throwable t) {
        Throwable c = t.getCause() != null && t instanceof java.util.concurrent.CompletionException ? t.getCause() : t;
        return c instanceof java.net.http.HttpTimeoutException ? "timeout" : c.getClass().getSimpleName();
    }

    private void read(HttpResponse<InputStream> res, RequestTimeline timeline) {
        InputStream body = res.body();
        Runnable close = () -> {
            try {
                body.close();
            } catch (IOException ignored) {
                // closing is all we want
            }
        };
        timeline.cancelWith(close);
        long left = timeout.toNanos() - (System.nanoTime() - timeline.startNanos());
        java.util.concurrent.ScheduledFuture<?> deadline = deadlines.schedule(() -> timeline.abandon("timeout"),
                Math.max(0, left), java.util.concurrent.TimeUnit.NANOSECONDS);
        try (InputStream in = body) {
            if (res.statusCode() != 200) {
                in.readAllBytes();
                timeline.finish(System.nanoTime(), "http " + res.statusCode(), -1, 0);
                return;
            }
            BufferedReader lines = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8));
            int completion = -1, prompt = 0;
            String error = null;
            boolean done = false;
            for (String line; (line = lines.readLine()) != null; ) {
                if (!line.startsWith("data:")) continue;
                String data = line.substring(5).trim();
                if (data.equals("[DONE]")) { done = true; break; }
                JsonNode event = JSON.readTree(data);
                if (event.has("error")) { error = "stream error"; continue; }
                JsonNode usage = event.get("usage");
                if (usage != null && usage.isObject()) {
                    completion = usage.path("completion_tokens").asInt(-1);
                    prompt = usage.path("prompt_tokens").asInt(0);
                }
                JsonNode choice = event.path("choices").path(0);
                if (choice.isMissingNode()) continue;
                JsonNode delta = choice.path("delta");
                boolean tokens = !choice.path("text").asText("").isEmpty() || !delta.path("content").asText("").isEmpty()
                        || !delta.path("reasoning_content").asText("").isEmpty() || !delta.path("reasoning").asText("").isEmpty()
                        || delta.has("tool_calls");
                if (tokens) timeline.onTokens(1, System.nanoTime());
            }
            timeline.finish(System.nanoTime(), error != null ? error : done ? null : "stream cut", completion, prompt);
        } catch (IOException | RuntimeException e) {
            timeline.finish(System.nanoTime(), kind(e), -1, 0); // no effect when abandon() already ended it
        } finally {
            deadline.cancel(false);
        }
    }

    @Override
    public String describe() {
        return "openai " + base.toString().replaceAll("/$", "") + " (" + (endpoint == Endpoint.CHAT ? "chat/completions" : "completions") + ")";
    }

    @Override
    public ServerModel model() throws IOException, InterruptedException {
        HttpResponse<String> r;
        try {
            r = http.send(request("models").GET().build(), HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            throw new IOException("cannot reach " + base.resolve("models") + ": " + e, e);
        }
        if (r.statusCode() != 200) throw new IOException("GET " + base.resolve("models") + " answered " + r.statusCode() + ": " + r.body());
        JsonNode data = JSON.readTree(r.body()).path("data");
        for (JsonNode m : data)
            if (model.isEmpty() || m.path("id").asText().equals(model))
                return new ServerModel(m.path("id").asText(), m.path("simulated").asBoolean(false), m.path("latency_model").asText(""));
        throw new IOException("the server does not list the model '" + model + "': " + r.body());
    }

    @Override
    public void close() {
        // NOTE: not http.close(), which waits for every exchange: a stalled stream would hold the run open.
        deadlines.shutdownNow();
        readers.shutdownNow();
        http.shutdownNow();
    }
}
