package dev.tessera.client;

import dev.tessera.proto.v1.GenerateResponse;

/** What ended a generation with {@code FINISH_REASON_STOP}: a stop token or a stop string. */
public sealed interface MatchedStop {

    /** The stop token that was sampled; it is also the last of the completion's token ids. */
    record Token(int tokenId) implements MatchedStop {
        public Token {
            if (tokenId < 0) throw new IllegalArgumentException("a stop token id is >= 0, got " + tokenId);
        }
    }

    /** The stop string (as the request gave it) found in the decoded text; the text ends just before it. */
    record Text(String stop) implements MatchedStop {
        public Text {
            if (stop == null || stop.isEmpty()) throw new IllegalArgumentException("a stop string is not empty");
        }
    }

    /** The matched stop of a final message, or null when it names none. */
    static MatchedStop of(GenerateResponse last) {
        return switch (last.getMatchedStopCase()) {
            case STOP_TOKEN_ID -> new Token(last.getStopTokenId());
            case STOP_STRING -> new Text(last.getStopString());
            case MATCHEDSTOP_NOT_SET -> null;
        };
    }
}
