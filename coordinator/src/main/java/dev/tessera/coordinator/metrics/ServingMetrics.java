package dev.tessera.coordinator.metrics;

import dev.tessera.coordinator.engine.ReplicaSet;
import dev.tessera.coordinator.scheduler.Finish;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;

/**
 * The coordinator's serving metrics, scraped as Prometheus text (exposition format 0.0.4). The families mirror
 * vLLM's under a {@code tessera:} prefix, with a {@code model} label where vLLM has {@code model_name}.
 *
 * <p>Recorded as requests pass: per request once by its response stream (first token, each inter-token gap, its
 * end), each refused request once by the Inference service, and HTTP requests by the HTTP gateway. Read at scrape
 * time from the live replica set: running and waiting requests, KV cache use, ready replicas, leadership.
 *
 * <p>Threads: every method is thread-safe. Recording never blocks (striped adders; a map insert the first time a
 * label combination appears), and a scrape reads the replica set's lock-free load snapshot, so neither the engine
 * loops nor a scrape wait on the other.
 */
public final class ServingMetrics {

    /** Rejection reasons, one per refusal status of the Inference API. */
    public static final String INVALID = "invalid", NOT_FOUND = "not_found", UNAVAILABLE = "unavailable", OVERLOADED = "overloaded";

    /** Time to first token (vLLM's edges). */
    static final double[] TTFT_BOUNDS = {0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5,
            5.0, 7.5, 10.0, 20.0, 40.0, 80.0, 160.0, 640.0, 2560.0};
    // NOTE: vLLM's inter-token edges start at 10 ms; a decode step of a small model on one GPU takes a few ms, so
    // four finer edges come first. The rest are vLLM's, so dashboards that compare the two still line up.
    static final double[] ITL_BOUNDS = {0.001, 0.0025, 0.005, 0.0075, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3,
            0.4, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 20.0, 40.0, 80.0};
    /** End-to-end request latency (vLLM's edges). */
    static final double[] E2E_BOUNDS = {0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0, 40.0, 50.0,
            60.0, 120.0, 240.0, 480.0, 960.0, 1920.0, 7680.0};
    // NOTE: vLLM reuses its end-to-end edges for queue time; an idle replica schedules a request within
    // milliseconds, which all would fall under 0.3 s, so finer edges come first here.
    static final double[] QUEUE_BOUNDS = {0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 2.5,
            5.0, 10.0, 15.0, 20.0, 30.0, 40.0, 50.0, 60.0, 120.0, 240.0, 480.0, 960.0, 1920.0, 7680.0};
    /** Token counts per request: 1, 2, 5, 10, ... 200000 (vLLM's 1-2-5 series; past gpt-oss's context). */
    static final double[] TOKEN_BOUNDS = oneTwoFive(200_000);

    private static final String PREFIX = "tessera:";
    private static final double NANOS_PER_SECOND = 1e9;

    private final Supplier<ReplicaSet> replicas;
    private final Set<String> models = ConcurrentHashMap.newKeySet();

    private final CounterFamily success = new CounterFamily(PREFIX + "request_success_total",
            "Requests that ended, by finish reason (stop, length, abort for cancelled, error).", "finished_reason", "model");
    private final CounterFamily promptTokens = new CounterFamily(PREFIX + "prompt_tokens_total",
            "Prompt tokens of ended requests.", "model");
    private final CounterFamily generationTokens = new CounterFamily(PREFIX + "generation_tokens_total",
            "Completion tokens delivered by ended requests.", "model");
    private final CounterFamily preemptions = new CounterFamily(PREFIX + "num_preemptions_total",
            "Recomputations of ended requests: preemptions on a replica and moves off a lost one.", "model");
    private final CounterFamily rejected = new CounterFamily(PREFIX + "requests_rejected_total",
            "Requests refused before generating (invalid, not_found, unavailable, overloaded).", "reason");
    private final CounterFamily http = new CounterFamily(PREFIX + "http_requests_total",
            "HTTP requests answered by the gateway, by route and status code.", "route", "code");
    private final HistogramFamily ttft = new HistogramFamily(PREFIX + "time_to_first_token_seconds",
            "Time from a request's arrival to its first token.", TTFT_BOUNDS, "model");
    private final HistogramFamily itl = new HistogramFamily(PREFIX + "inter_token_latency_seconds",
            "Time between consecutive tokens of a request, as the engine handed them on.", ITL_BOUNDS, "model");
    private final HistogramFamily e2e = new HistogramFamily(PREFIX + "e2e_request_latency_seconds",
            "Time from a request's arrival to its end.", E2E_BOUNDS, "model");
    private final HistogramFamily queue = new HistogramFamily(PREFIX + "request_queue_time_seconds",
            "Time from a request's arrival to its first scheduled step.", QUEUE_BOUNDS, "model");
    private final HistogramFamily requestPrompt = new HistogramFamily(PREFIX + "request_prompt_tokens",
            "Prompt tokens per ended request.", TOKEN_BOUNDS, "model");
    private final HistogramFamily requestGeneration = new HistogramFamily(PREFIX + "request_generation_tokens",
            "Completion tokens per ended request.", TOKEN_BOUNDS, "model");

    /** @param replicas the replica set this coordinator schedules now, or null while it is a standby */
    public ServingMetrics(Supplier<ReplicaSet> replicas) {
        this.replicas = Objects.requireNonNull(replicas, "replicas");
        for (String reason : List.of(INVALID, NOT_FOUND, UNAVAILABLE, OVERLOADED)) rejected.touch(reason);
    }

    /** The Content-Type of {@link #scrape()}'s text. */
    public static String contentType() { return TextFormat.CONTENT_TYPE; }

    /**
     * Counts one HTTP request answered with {@code status}. {@code route} should be the route's pattern (such as
     * {@code /v1/chat/completions}), never a raw path: every distinct value is a series kept for the process's life.
     */
    public void httpRequest(String route, int status) {
        http.increment(Objects.requireNonNull(route, "route"), Integer.toString(status));
    }

    /** Counts one refused request; {@code reason} is one of {@link #INVALID}, {@link #NOT_FOUND}, ... */
    public void rejected(String reason) {
        if (reason == null || reason.isBlank()) throw new IllegalArgumentException("a rejection needs a reason");
        rejected.increment(reason);
    }

    /** Records the time from a request's arrival to its first token. */
    public void timeToFirstToken(String model, long nanos) { ttft.observe(nanos / NANOS_PER_SECOND, model); }

    /** Records one gap between two consecutive tokens of a request. */
    public void interTokenLatency(String model, long nanos) { itl.observe(nanos / NANOS_PER_SECOND, model); }

    /** Records a request's end; call once per request. */
    public void requestFinished(FinishedRequest r) {
        String model = r.model();
        // A model's every finish reason exists from its first request on, at 0 if need be, as vLLM shows them.
        if (models.add(model)) for (Finish f : Finish.values()) success.touch(FinishedRequest.reasonLabel(f), model);
        success.increment(r.finishedReason(), model);
        promptTokens.add(r.promptTokens(), model);
        generationTokens.add(r.generationTokens(), model);
        preemptions.add(r.preemptions(), model);
        e2e.observe(r.e2eNanos() / NANOS_PER_SECOND, model);
        if (r.queueNanos() >= 0) queue.observe(r.queueNanos() / NANOS_PER_SECOND, model);
        requestPrompt.observe(r.promptTokens(), model);
        requestGeneration.observe(r.generationTokens(), model);
    }

    /** Every family as Prometheus text, exposition format 0.0.4; see {@link #contentType()}. */
    public String scrape() {
        StringBuilder out = new StringBuilder(16_384);
        for (CounterFamily c : List.of(success, promptTokens, generationTokens, preemptions, rejected, http)) c.writeTo(out);
        for (HistogramFamily h : List.of(ttft, itl, e2e, queue, requestPrompt, requestGeneration)) h.writeTo(out);
        writeGauges(out);
        return out.toString();
    }

    private void writeGauges(StringBuilder out) {
        ReplicaSet set = replicas.get();
        ReplicaSet.LoadSnapshot load = set == null ? new ReplicaSet.LoadSnapshot(List.of(), 0) : set.loadSnapshot();
        List<ReplicaSet.ReplicaLoad> byId = new ArrayList<>(load.replicas());
        byId.sort(Comparator.comparing(ReplicaSet.ReplicaLoad::replicaId));
        long running = 0, waiting = load.pending();
        for (ReplicaSet.ReplicaLoad r : byId) {
            running += r.stats().running();
            waiting += r.stats().waiting();
        }
        gauge(out, "num_requests_running", "Requests in a replica's running batch.", running);
        gauge(out, "num_requests_waiting", "Requests waiting: queued on a replica, or for a replica to take them.", waiting);
        List<String> labels = List.of("model", "replica");
        TextFormat.header(out, PREFIX + "kv_cache_usage_perc", "gauge", "Fraction of a replica's KV cache blocks in use, 0 to 1.");
        for (ReplicaSet.ReplicaLoad r : byId)
            TextFormat.sample(out, PREFIX + "kv_cache_usage_perc", labels, List.of(r.model(), r.replicaId()), null, null,
                    TextFormat.number(r.stats().kvUsage()));
        TextFormat.header(out, PREFIX + "kv_blocks_in_use", "gauge", "KV cache blocks a replica's sequences hold.");
        for (ReplicaSet.ReplicaLoad r : byId)
            TextFormat.sample(out, PREFIX + "kv_blocks_in_use", labels, List.of(r.model(), r.replicaId()), null, null,
                    Integer.toString(r.stats().kvBlocksUsed()));
        TextFormat.header(out, PREFIX + "kv_blocks_total", "gauge", "KV cache blocks of a replica (its smallest stage's pool).");
        for (ReplicaSet.ReplicaLoad r : byId)
            TextFormat.sample(out, PREFIX + "kv_blocks_total", labels, List.of(r.model(), r.replicaId()), null, null,
                    Integer.toString(r.stats().kvBlocks()));
        gauge(out, "replicas_ready", "Replicas this coordinator schedules now (0 on a standby).", byId.size());
        gauge(out, "is_leader", "1 while this coordinator is the leader, else 0.", set == null ? 0 : 1);
    }

    private static void gauge(StringBuilder out, String name, String help, long value) {
        TextFormat.header(out, PREFIX + name, "gauge", help);
        TextFormat.sample(out, PREFIX + name, List.of(), List.of(), null, null, Long.toString(value));
    }

    private static double[] oneTwoFive(long max) {
        List<Double> out = new ArrayList<>();
        for (long decade = 1; decade <= max; decade *= 10)
            for (long m : new long[] {1, 2, 5}) if (decade * m <= max) out.add((double) (decade * m));
        return out.stream().mapToDouble(Double::doubleValue).toArray();
    }
}
