package dev.tessera.client;

import dev.tessera.proto.v1.FinishReason;
import dev.tessera.proto.v1.TokenLogprobs;
import dev.tessera.proto.v1.Usage;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * A finished generation: every message of one Generate stream, put together.
 *
 * @param requestId      the request's id (the client's, or the one the coordinator assigned)
 * @param promptTokens   tokens in the prompt after tokenization
 * @param promptTokenIds the prompt's token ids when the request set {@code echo_prompt}; empty otherwise
 * @param seed           the sampling seed the coordinator used
 * @param tokenIds       the generated token ids, in order, the stop token included
 * @param text           the concatenated text of every message (empty with {@code omit_text})
 * @param logprobs       one entry per token id when the request asked for log-probabilities; empty otherwise
 * @param finishReason   why it ended: STOP, LENGTH, CANCELLED (by the server) or ERROR; never UNSPECIFIED
 * @param matchedStop    with STOP: the stop token or string that ended it; null otherwise
 * @param error          with ERROR or CANCELLED: the server's reason; empty otherwise
 * @param usage          token counts and server-side timings from the final message
 */
public record Completion(String requestId, int promptTokens, List<Integer> promptTokenIds, long seed,
                         List<Integer> tokenIds, String text, List<TokenLogprobs> logprobs, FinishReason finishReason,
                         MatchedStop matchedStop, String error, Usage usage) {

    public Completion {
        Objects.requireNonNull(requestId, "requestId");
        promptTokenIds = List.copyOf(promptTokenIds);
        tokenIds = List.copyOf(tokenIds);
        Objects.requireNonNull(text, "text");
        logprobs = List.copyOf(logprobs);
        Objects.requireNonNull(error, "error");
        Objects.requireNonNull(usage, "usage");
        if (finishReason == null || finishReason == FinishReason.FINISH_REASON_UNSPECIFIED)
            throw new IllegalArgumentException("a completion has a finish reason, got " + finishReason);
        if (promptTokens < 0) throw new IllegalArgumentException("promptTokens must be >= 0, got " + promptTokens);
    }

    /** True when the model finished on its own terms: a stop, or the length limit. */
    public boolean succeeded() {
        return finishReason == FinishReason.FINISH_REASON_STOP || finishReason == FinishReason.FINISH_REASON_LENGTH;
    }

    /** The matched stop, if the generation ended on one. */
    public Optional<MatchedStop> stop() {
        return Optional.ofNullable(matchedStop);
    }

    /** The generated token ids as an array. */
    public int[] tokenIdArray() {
        return tokenIds.stream().mapToInt(Integer::intValue).toArray();
    }
}
