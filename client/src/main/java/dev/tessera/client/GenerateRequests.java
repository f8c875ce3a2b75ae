package dev.tessera.client;

import dev.tessera.proto.v1.GenerateRequest;
import dev.tessera.proto.v1.SamplingParams;
import dev.tessera.proto.v1.TokenIds;
import java.util.Arrays;
import java.util.List;

/**
 * Starting points for requests. Each returns a builder, so the rest of {@link GenerateRequest} stays at hand:
 * <pre>{@code
 * GenerateRequest r = GenerateRequests.text("<|start|>user<|message|>Hi<|end|><|start|>assistant")
 *         .setSampling(GenerateRequests.greedy(64)).build();
 * }</pre>
 */
public final class GenerateRequests {

    /** The largest o200k_harmony token id. */
    public static final int MAX_TOKEN_ID = 201087;

    private GenerateRequests() {}

    /** A request for a text prompt, tokenized by the coordinator (special token names become their ids). */
    public static GenerateRequest.Builder text(String prompt) {
        if (prompt == null || prompt.isEmpty()) throw new IllegalArgumentException("the prompt text is empty");
        return GenerateRequest.newBuilder().setText(prompt);
    }

    /** A request for a prompt of token ids, used exactly as given. */
    public static GenerateRequest.Builder tokens(int... prompt) {
        return tokens(Arrays.stream(prompt).boxed().toList());
    }

    /** A request for a prompt of token ids, used exactly as given. */
    public static GenerateRequest.Builder tokens(List<Integer> prompt) {
        if (prompt.isEmpty()) throw new IllegalArgumentException("the prompt has no token ids");
        for (int id : prompt)
            if (id < 0 || id > MAX_TOKEN_ID)
                throw new IllegalArgumentException("token id " + id + " is not in 0 .. " + MAX_TOKEN_ID);
        return GenerateRequest.newBuilder().setTokenIds(TokenIds.newBuilder().addAllIds(prompt));
    }

    /** Greedy decoding (temperature 0) of at most {@code maxTokens} tokens. */
    public static SamplingParams greedy(int maxTokens) {
        return sampling(0f, maxTokens);
    }

    /** Sampling at {@code temperature} (0: greedy) of at most {@code maxTokens} tokens (0: up to the context). */
    public static SamplingParams sampling(float temperature, int maxTokens) {
        if (!(temperature >= 0)) throw new IllegalArgumentException("temperature must be >= 0, got " + temperature);
        if (maxTokens < 0) throw new IllegalArgumentException("max tokens must be >= 0, got " + maxTokens);
        return SamplingParams.newBuilder().setTemperature(temperature).setMaxTokens(maxTokens).build();
    }
}
