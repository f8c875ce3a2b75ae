package dev.tessera.coordinator.openai;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tessera.coordinator.text.Tokenizer;
import dev.tessera.proto.v1.TokenLogprob;
import dev.tessera.proto.v1.TokenLogprobs;
import java.nio.charset.StandardCharsets;

/** How one token reads in OpenAI's logprobs: its text (U+FFFD for a partial character) and its raw bytes. */
final class TokenTexts {

    private final Tokenizer tokenizer;

    TokenTexts(Tokenizer tokenizer) { this.tokenizer = tokenizer; }

    String text(int id) {
        if (id < 0 || id >= tokenizer.vocabSize()) return "<|token_" + id + "|>";
        return new String(tokenizer.tokenBytes(id), StandardCharsets.UTF_8);
    }

    ArrayNode bytes(int id) {
        ArrayNode a = JsonNodeFactory.instance.arrayNode();
        if (id < 0 || id >= tokenizer.vocabSize()) return a;
        for (byte b : tokenizer.tokenBytes(id)) a.add(b & 0xFF);
        return a;
    }

    /** A chat logprobs entry: {@code {token, logprob, bytes, top_logprobs: [{token, logprob, bytes}]}}. */
    ObjectNode chatEntry(int id, TokenLogprobs lp) {
        ObjectNode e = entry(id, lp.getLogprob());
        ArrayNode top = e.putArray("top_logprobs");
        for (TokenLogprob t : lp.getTopLogprobsList()) top.add(entry(t.getTokenId(), t.getLogprob()));
        return e;
    }

    private ObjectNode entry(int id, float logprob) {
        ObjectNode e = JsonNodeFactory.instance.objectNode();
        e.put("token", text(id)).put("logprob", logprob);
        e.set("bytes", bytes(id));
        return e;
    }
}
