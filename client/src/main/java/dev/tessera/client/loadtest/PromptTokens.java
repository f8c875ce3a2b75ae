package dev.tessera.client.loadtest;

import com.knuddels.jtokkit.Encodings;
import com.knuddels.jtokkit.api.Encoding;
import com.knuddels.jtokkit.api.EncodingType;

/** Counts text in o200k tokens (gpt-oss's base vocabulary), for prompt lengths and dataset output lengths. */
final class PromptTokens {

    private static final Encoding O200K = Encodings.newDefaultEncodingRegistry().getEncoding(EncodingType.O200K_BASE);

    private PromptTokens() {}

    static int count(String text) { return O200K.countTokensOrdinary(text); }
}
