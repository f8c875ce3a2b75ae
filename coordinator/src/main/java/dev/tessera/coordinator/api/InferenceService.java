package dev.tessera.coordinator.api;

import dev.tessera.coordinator.engine.ReplicaRoute;
import dev.tessera.coordinator.engine.ReplicaSet;
import dev.tessera.coordinator.engine.Request;
import dev.tessera.coordinator.metrics.ServingMetrics;
import dev.tessera.coordinator.scheduler.Finish;
import dev.tessera.coordinator.text.HarmonyTokens;
import dev.tessera.coordinator.text.Tokenizer;
import dev.tessera.proto.v1.GenerateRequest;
import dev.tessera.proto.v1.GenerateResponse;
import dev.tessera.proto.v1.InferenceGrpc;
import dev.tessera.proto.v1.ListModelsRequest;
import dev.tessera.proto.v1.ListModelsResponse;
import dev.tessera.proto.v1.ModelInfo;
import dev.tessera.proto.v1.SamplingParams;
import io.grpc.Context;
import io.grpc.Deadline;
import io.grpc.Status;
import io.grpc.StatusException;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.security.SecureRandom;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The client-facing Inference service (inference.proto): validates and tokenizes a request, hands it to the
 * replicas, and streams its tokens back. Every refusal is a Status with a description, sent before any message.
 *
 * <p>Every Generate call is counted once in the {@link ServingMetrics}: a refusal here by its status, an accepted
 * request by its response stream.
 */
public final class InferenceService extends InferenceGrpc.InferenceImplBase {

    /** The harmony stop set for assistant actions: {@code <|return|>}, {@code <|call|>} (gpt-oss.md §5). */
    static final int[] DEFAULT_STOP_IDS = {HarmonyTokens.RETURN, HarmonyTokens.CALL};
    static final int MAX_STOP_STRINGS = 16;
    static final int MAX_STOP_STRING_BYTES = 256;
    static final int MAX_TOP_LOGPROBS = 20;

    private final ClusterView cluster;
    private final ExecutorService streams;
    private final ServingMetrics metrics;
    private final AtomicLong arrivals = new AtomicLong();
    private final SecureRandom seeds = new SecureRandom();

    /** With metrics of its own; see {@link #metrics()}. */
    public InferenceService(ClusterView cluster, ExecutorService streams) {
        this(cluster, streams, new ServingMetrics(cluster::replicaSet));
    }

    /**
     * @param streams runs response streams' detokenizing and writes (not the engine loops)
     * @param metrics where requests are counted and measured
     */
    public InferenceService(ClusterView cluster, ExecutorService streams, ServingMetrics metrics) {
        this.cluster = cluster;
        this.streams = streams;
        this.metrics = metrics;
    }

    public ServingMetrics metrics() { return metrics; }

    @Override
    public void generate(GenerateRequest req, StreamObserver<GenerateResponse> observer) {
        ServerCallStreamObserver<GenerateResponse> out = (ServerCallStreamObserver<GenerateResponse>) observer;
        try {
            start(req, out);
        } catch (StatusException e) {
            metrics.rejected(rejection(e.getStatus().getCode()));
            out.onError(e);
        }
    }

    /** The rejection reason a refusal status counts as. */
    static String rejection(Status.Code code) {
        return switch (code) {
            case INVALID_ARGUMENT -> ServingMetrics.INVALID;
            case NOT_FOUND -> ServingMetrics.NOT_FOUND;
            case UNAVAILABLE -> ServingMetrics.UNAVAILABLE;
            case RESOURCE_EXHAUSTED -> ServingMetrics.OVERLOADED;
            default -> code.name().toLowerCase(java.util.Locale.ROOT);
        };
    }

    private void start(GenerateRequest req, ServerCallStreamObserver<GenerateResponse> out) throws StatusException {
        ReplicaSet replicas = leaderReplicas();
        ReplicaRoute replica = replicaFor(req.getModel(), replicas);
        if (req.getRequestId().getBytes(java.nio.charset.StandardCharsets.UTF_8).length > 128)
            throw invalid("request_id is longer than 128 bytes");

        int[] prompt = switch (req.getPromptCase()) {
            case TEXT -> Tokenizer.shared().encode(req.getText());
            case TOKEN_IDS -> req.getTokenIds().getIdsList().stream().mapToInt(Integer::intValue).toArray();
            case PROMPT_NOT_SET -> throw invalid("no prompt: set text or token_ids");
        };
        if (prompt.length == 0) throw invalid("the prompt is empty");
        for (int i = 0; i < prompt.length; i++) {
            if (prompt[i] >= 0 && prompt[i] < replica.vocabSize()) continue;
            if (req.getPromptCase() == GenerateRequest.PromptCase.TEXT)
                throw invalid("the text encodes to token " + prompt[i] + ", outside model " + replica.model()
                        + "'s vocabulary of " + replica.vocabSize() + " tokens: it does not use the o200k_harmony "
                        + "vocabulary, so send token_ids instead of text");
            throw invalid("prompt token " + i + " is " + Integer.toUnsignedString(prompt[i]) + ", outside the vocabulary 0.."
                    + (replica.vocabSize() - 1));
        }
        // The context a request can use: the model's, and no more than one replica's whole KV pool.
        long room = Math.min(replica.maxContextTokens(), (long) replica.kvBlocks() * replica.kvBlockSize());
        if (prompt.length >= room)
            throw invalid("the prompt has " + prompt.length + " tokens; a replica holds at most " + room
                    + " positions, and at least one is needed for the completion");

        SamplingParams sampling = sampling(req.getSampling(), replica.vocabSize());
        long asked = Integer.toUnsignedLong(req.getSampling().getMaxTokens()); // uint32 on the wire
        int maxTokens = (int) (asked == 0 ? room - prompt.length : Math.min(asked, room - prompt.length));
        int[] stopIds = stopTokenIds(req, replica.vocabSize());
        List<String> stops = stopStrings(req);

        String id = req.getRequestId().isEmpty() ? UUID.randomUUID().toString() : req.getRequestId();
        GenerateResponse.Builder first = GenerateResponse.newBuilder().setRequestId(id).setPromptTokens(prompt.length)
                .setSeed(sampling.getSeed()).setModel(replica.model());
        if (req.getEchoPrompt()) for (int t : prompt) first.addPromptTokenIds(t);
        ResponseStream stream = new ResponseStream(out, streams, Tokenizer.shared(), req.getOmitText(),
                req.getSkipSpecialTokens(), stops, stopIds, sampling.getLogprobs() || sampling.getTopLogprobs() > 0, first, metrics);
        Deadline deadline = Context.current().getDeadline();
        long deadlineNanos = deadline == null ? Long.MAX_VALUE : System.nanoTime() + deadline.timeRemaining(TimeUnit.NANOSECONDS);
        Request request = new Request(id, replica.model(), prompt, maxTokens, stopIds, sampling, req.getPriority(),
                arrivals.incrementAndGet(), deadlineNanos, stream);
        stream.bind(request);
        // Client cancel, deadline or disconnect: the engine frees the sequence's blocks on every stage.
        out.setOnCancelHandler(() -> request.requestFinish(Finish.CANCELLED));

        switch (replicas.submit(request)) {
            case ACCEPTED -> { }
            case FULL -> throw Status.RESOURCE_EXHAUSTED.withDescription("the coordinator is at capacity ("
                    + replicas.live() + " requests in flight); retry later or add replicas").asException();
            case CLOSED -> throw Status.UNAVAILABLE.withDescription("this coordinator is shutting down").asException();
        }
    }

    private ReplicaSet leaderReplicas() throws StatusException {
        ReplicaSet replicas = cluster.replicaSet();
        if (replicas == null) {
            String leader = cluster.leaderAddress();
            throw Status.UNAVAILABLE.withDescription("this coordinator is a standby, not the leader"
                    + (leader == null ? "; no leader is registered yet" : "; the leader is at " + leader)).asException();
        }
        return replicas;
    }

    /**
     * The smallest ready replica of the model asked for (the first model when none is named): a request sized to it
     * fits every replica of its model, so it can run, and move, anywhere.
     */
    private ReplicaRoute replicaFor(String model, ReplicaSet replicas) throws StatusException {
        List<ReplicaRoute> routes = replicas.replicas();
        if (routes.isEmpty())
            throw Status.UNAVAILABLE.withDescription("no replica is ready" + (cluster.problems().isEmpty() ? ""
                    : ": " + String.join("; ", cluster.problems()))).asException();
        String wanted = model.isEmpty() ? routes.getFirst().model() : model;
        List<ReplicaRoute> matching = routes.stream().filter(r -> r.model().equals(wanted)).toList();
        if (matching.isEmpty())
            throw Status.NOT_FOUND.withDescription("model \"" + model + "\" is not served here; served: "
                    + routes.stream().map(ReplicaRoute::model).distinct().toList()).asException();
        return matching.stream().min(Comparator.comparingLong(r -> Math.min((long) r.kvBlocks() * r.kvBlockSize(),
                r.maxContextTokens()))).orElseThrow();
    }

    private SamplingParams sampling(SamplingParams p, int vocab) throws StatusException {
        SamplingParams.Builder b = p.toBuilder();
        if (p.hasTemperature() && !(p.getTemperature() >= 0 && Float.isFinite(p.getTemperature())))
            throw invalid("temperature must be a finite number >= 0, got " + p.getTemperature());
        if (p.hasTopP() && !(p.getTopP() > 0 && p.getTopP() <= 1))
            throw invalid("top_p must be in (0, 1], got " + p.getTopP());
        // NOTE: uint32 fields arrive as Java ints; compare them unsigned, or 2^31 and up would pass as negative.
        if (Integer.toUnsignedLong(p.getTopK()) > vocab)
            throw invalid("top_k is " + Integer.toUnsignedString(p.getTopK()) + ", more than the vocabulary's " + vocab + " tokens");
        if (Integer.toUnsignedLong(p.getTopLogprobs()) > MAX_TOP_LOGPROBS)
            throw invalid("top_logprobs is at most " + MAX_TOP_LOGPROBS + ", got " + Integer.toUnsignedString(p.getTopLogprobs()));
        if (!p.hasTemperature()) b.setTemperature(1.0f); // gpt-oss's recommended default (gpt-oss.md §5)
        if (!p.hasTopP()) b.setTopP(1.0f);
        if (!p.hasSeed()) b.setSeed(seeds.nextLong() & Long.MAX_VALUE);
        return b.build();
    }

    private static int[] stopTokenIds(GenerateRequest req, int vocab) throws StatusException {
        if (req.getIgnoreStopTokens()) return new int[0];
        if (req.getStopTokenIdsCount() == 0) return DEFAULT_STOP_IDS.clone();
        int[] ids = new int[req.getStopTokenIdsCount()];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = req.getStopTokenIds(i);
            if (ids[i] < 0 || ids[i] >= vocab)
                throw invalid("stop_token_ids[" + i + "] is " + Integer.toUnsignedString(ids[i]) + ", outside the vocabulary");
        }
        return ids;
    }

    private static List<String> stopStrings(GenerateRequest req) throws StatusException {
        if (req.getOmitText()) return List.of();
        if (req.getStopStringsCount() > MAX_STOP_STRINGS)
            throw invalid("at most " + MAX_STOP_STRINGS + " stop strings, got " + req.getStopStringsCount());
        for (String s : req.getStopStringsList()) {
            int bytes = s.getBytes(java.nio.charset.StandardCharsets.UTF_8).length;
            if (bytes == 0 || bytes > MAX_STOP_STRING_BYTES)
                throw invalid("a stop string must have 1 to " + MAX_STOP_STRING_BYTES + " bytes, got " + bytes);
        }
        return req.getStopStringsList();
    }

    private static StatusException invalid(String description) {
        return Status.INVALID_ARGUMENT.withDescription(description).asException();
    }

    @Override
    public void listModels(ListModelsRequest request, StreamObserver<ListModelsResponse> out) {
        ReplicaSet replicas = cluster.replicaSet();
        if (replicas == null) {
            out.onError(Status.UNAVAILABLE.withDescription("this coordinator is a standby; the leader is at "
                    + cluster.leaderAddress()).asException());
            return;
        }
        Map<String, ModelInfo.Builder> models = new LinkedHashMap<>();
        Map<String, java.util.Set<String>> latencies = new LinkedHashMap<>();
        for (ReplicaRoute r : replicas.replicas()) {
            ModelInfo.Builder m = models.computeIfAbsent(r.model(), name -> ModelInfo.newBuilder().setName(name)
                    .setFingerprint(r.fingerprint()).setVocabSize(r.vocabSize()).setMaxContextTokens(r.maxContextTokens()));
            m.setReadyReplicas(m.getReadyReplicas() + 1);
            if (r.simulated()) m.setSimulated(true);
            if (!r.latencyModel().isEmpty()) latencies.computeIfAbsent(r.model(), name -> new java.util.LinkedHashSet<>()).add(r.latencyModel());
        }
        latencies.forEach((name, set) -> models.get(name).setLatencyModel(String.join("; ", set)));
        ListModelsResponse.Builder resp = ListModelsResponse.newBuilder();
        boolean first = true;
        for (ModelInfo.Builder m : models.values()) {
            resp.addModels(m.setIsDefault(first));
            first = false;
        }
        out.onNext(resp.build());
        out.onCompleted();
    }
}
