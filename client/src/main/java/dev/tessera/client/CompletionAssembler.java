package dev.tessera.client;

import dev.tessera.proto.v1.FinishReason;
import dev.tessera.proto.v1.GenerateResponse;
import dev.tessera.proto.v1.TokenLogprobs;
import java.util.ArrayList;
import java.util.List;

/**
 * Puts the messages of one Generate stream together into a {@link Completion}, checking the stream contract: the
 * first message carries the request's id and prompt facts, exactly one message (the last) has a finish reason.
 * Not thread-safe: gRPC delivers one stream's messages one at a time.
 */
final class CompletionAssembler {

    private final List<Integer> tokenIds = new ArrayList<>();
    private final StringBuilder text = new StringBuilder();
    private final List<TokenLogprobs> logprobs = new ArrayList<>();
    private GenerateResponse first;
    private GenerateResponse last;

    /**
     * Adds the next message.
     *
     * @throws IllegalStateException when a message follows the final one
     */
    void add(GenerateResponse response) {
        if (last != null)
            throw new IllegalStateException("the server sent a message after the final one (finish_reason "
                    + last.getFinishReason() + ")");
        if (first == null) first = response;
        tokenIds.addAll(response.getTokenIdsList());
        text.append(response.getText());
        logprobs.addAll(response.getLogprobsList());
        if (response.getFinishReason() != FinishReason.FINISH_REASON_UNSPECIFIED) last = response;
    }

    /** True once the final message (with a finish reason) was added. */
    boolean finished() {
        return last != null;
    }

    /** Tokens added so far. */
    int tokens() {
        return tokenIds.size();
    }

    /** The completion; only once {@link #finished()}. */
    Completion build() {
        if (last == null) throw new IllegalStateException("the stream has not sent its final message yet");
        return new Completion(first.getRequestId(), first.getPromptTokens(), first.getPromptTokenIdsList(), first.getSeed(),
                tokenIds, text.toString(), logprobs, last.getFinishReason(), MatchedStop.of(last), last.getError(),
                last.getUsage());
    }
}
