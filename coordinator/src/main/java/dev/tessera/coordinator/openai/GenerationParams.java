package dev.tessera.coordinator.openai;

import dev.tessera.proto.v1.SamplingParams;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * The sampling and streaming fields that /v1/chat/completions and /v1/completions share, validated as OpenAI
 * documents them.
 *
 * @param model        the model asked for; "" for the coordinator's default
 * @param temperature  0..2, or null for the server default (1.0, gpt-oss's recommendation)
 * @param topP         (0, 1], or null for 1.0
 * @param maxTokens    most tokens to generate; 0 for no limit but the context
 * @param stop         stop strings (at most 16); empty for none
 * @param seed         sampling seed, or null for a random one
 * @param topLogprobs  alternatives per token, 0..5; meaningful only with logprobs
 * @param logprobs     whether each token's log-probability is returned
 * @param stream       server-sent events instead of one JSON body
 * @param includeUsage with stream: a last chunk carrying usage
 * @param user         the caller's end-user id, for the log only; null if none
 */
record GenerationParams(String model, Float temperature, Float topP, int maxTokens, List<String> stop, Long seed,
                        int topLogprobs, boolean logprobs, boolean stream, boolean includeUsage, String user) {

    static final int MAX_TOP_LOGPROBS = 5;
    static final int MAX_STOP = 16;

    /** Reads the shared fields; {@code chat} selects chat's logprobs shape (a boolean plus top_logprobs). */
    static GenerationParams parse(JsonFields f, boolean chat) throws ApiError.Refusal {
        String model = f.string("model");
        Double temperature = f.number("temperature");
        if (temperature != null && !(temperature >= 0 && temperature <= 2))
            throw ApiError.invalid("temperature", "'temperature' must be between 0 and 2, got " + temperature).refusal();
        Double topP = f.number("top_p");
        if (topP != null && !(topP > 0 && topP <= 1))
            throw ApiError.invalid("top_p", "'top_p' must be greater than 0 and at most 1, got " + topP).refusal();
        int maxTokens = maxTokens(f, chat);
        List<String> stop = f.stringOrStrings("stop");
        if (stop == null) stop = List.of();
        if (stop.size() > MAX_STOP)
            throw ApiError.invalid("stop", "'stop' takes at most " + MAX_STOP + " strings, got " + stop.size()).refusal();
        for (String s : stop)
            if (s.isEmpty() || s.getBytes(StandardCharsets.UTF_8).length > 256)
                throw ApiError.invalid("stop", "each stop string must have 1 to 256 bytes").refusal();
        Long seed = f.integer("seed");
        Long n = f.integer("n");
        if (n != null && n != 1)
            throw ApiError.invalid("n", "only n=1 is supported (one choice per request); got " + n
                    + ". Send " + n + " requests to get " + n + " completions").refusal();
        for (String penalty : List.of("presence_penalty", "frequency_penalty")) {
            Double p = f.number(penalty);
            if (p != null && p != 0)
                throw ApiError.invalid(penalty, "'" + penalty + "' is not supported by this server; leave it out or set it to 0").refusal();
        }
        boolean logprobs;
        long top;
        if (chat) {
            logprobs = Boolean.TRUE.equals(f.bool("logprobs"));
            Long t = f.integer("top_logprobs");
            top = t == null ? 0 : t;
            if (t != null && !logprobs)
                throw ApiError.invalid("top_logprobs", "'top_logprobs' needs 'logprobs': true").refusal();
        } else {
            Long t = f.integer("logprobs");
            logprobs = t != null;
            top = t == null ? 0 : t;
        }
        if (top < 0 || top > MAX_TOP_LOGPROBS)
            throw ApiError.invalid(chat ? "top_logprobs" : "logprobs", "'" + (chat ? "top_logprobs" : "logprobs")
                    + "' must be between 0 and " + MAX_TOP_LOGPROBS + ", got " + top).refusal();
        boolean stream = Boolean.TRUE.equals(f.bool("stream"));
        JsonFields options = f.object("stream_options");
        boolean includeUsage = options != null && Boolean.TRUE.equals(options.bool("include_usage"));
        if (options != null && !stream)
            throw ApiError.invalid("stream_options", "'stream_options' is only allowed with 'stream': true").refusal();
        return new GenerationParams(model == null ? "" : model, temperature == null ? null : temperature.floatValue(),
                topP == null ? null : topP.floatValue(), maxTokens, List.copyOf(stop), seed, (int) top, logprobs, stream,
                includeUsage, f.string("user"));
    }

    /** Chat takes max_completion_tokens (the current name) or max_tokens (the deprecated one); both: the newer wins. */
    private static int maxTokens(JsonFields f, boolean chat) throws ApiError.Refusal {
        String field = chat && f.has("max_completion_tokens") ? "max_completion_tokens" : "max_tokens";
        Long v = f.integer(field);
        if (v == null) return 0;
        if (v < 1 || v > Integer.MAX_VALUE)
            throw ApiError.invalid(field, "'" + field + "' must be at least 1, got " + v).refusal();
        return v.intValue();
    }

    SamplingParams sampling() {
        SamplingParams.Builder b = SamplingParams.newBuilder().setMaxTokens(maxTokens)
                .setLogprobs(logprobs).setTopLogprobs(logprobs ? topLogprobs : 0);
        if (temperature != null) b.setTemperature(temperature);
        if (topP != null) b.setTopP(topP);
        if (seed != null) b.setSeed(seed);
        return b.build();
    }
}
