package dev.tessera.coordinator.openai;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tessera.proto.v1.FinishReason;
import dev.tessera.proto.v1.GenerateResponse;
import dev.tessera.proto.v1.TokenLogprob;
import dev.tessera.proto.v1.TokenLogprobs;

/**
 * {@code POST /v1/completions}: the service's decoded text goes out as is (it already holds back partial characters
 * and stop-string prefixes). Logprobs take the legacy completions shape: tokens, token_logprobs, top_logprobs (one
 * map per token) and text_offset.
 */
final class TextCompletionCall extends CompletionCall {

    private final TokenTexts tokens;
    private final StringBuilder text = new StringBuilder();
    private final Logprobs logprobs = new Logprobs();

    TextCompletionCall(HttpExchange exchange, CompletionRequest request, String id, TokenTexts tokens) {
        super(exchange, request.params(), id);
        this.tokens = tokens;
    }

    /** The legacy logprobs object, built up token by token; {@code textOffset} counts UTF-16 chars as OpenAI's do. */
    private final class Logprobs {
        int textOffset;

        ObjectNode of(GenerateResponse r) {
            ObjectNode o = JsonNodeFactory.instance.objectNode();
            ArrayNode toks = o.putArray("tokens"), lps = o.putArray("token_logprobs"), tops = o.putArray("top_logprobs"),
                    offsets = o.putArray("text_offset");
            for (int i = 0; i < r.getLogprobsCount() && i < r.getTokenIdsCount(); i++) {
                TokenLogprobs lp = r.getLogprobs(i);
                String t = tokens.text(r.getTokenIds(i));
                toks.add(t);
                lps.add(lp.getLogprob());
                ObjectNode top = tops.addObject();
                for (TokenLogprob alt : lp.getTopLogprobsList()) top.put(tokens.text(alt.getTokenId()), alt.getLogprob());
                offsets.add(textOffset);
                textOffset += t.length();
            }
            return o;
        }
    }

    private ObjectNode all;   // non-streamed logprobs, merged over the responses

    @Override
    protected ObjectNode consume(GenerateResponse r) {
        ObjectNode lp = params.logprobs() ? logprobs.of(r) : null;
        if (!params.stream()) {
            text.append(r.getText());
            if (lp != null) {
                if (all == null) all = lp;
                else lp.fieldNames().forEachRemaining(f -> ((ArrayNode) all.get(f)).addAll((ArrayNode) lp.get(f)));
            }
            return null;
        }
        if (r.getText().isEmpty() && lp == null) return null;
        return chunk(r.getText(), lp, null);
    }

    private ObjectNode chunk(String text, ObjectNode logprobs, String finishReason) {
        ObjectNode c = envelope(chunkObject());
        ObjectNode choice = c.putArray("choices").addObject();
        choice.put("index", 0).put("text", text);
        if (logprobs == null) choice.putNull("logprobs"); else choice.set("logprobs", logprobs);
        if (finishReason == null) choice.putNull("finish_reason"); else choice.put("finish_reason", finishReason);
        return c;
    }

    @Override
    protected String finishReason(FinishReason reason) {
        return reason == FinishReason.FINISH_REASON_LENGTH ? "length" : "stop";
    }

    @Override
    protected ObjectNode finishChunk(String finishReason) { return chunk("", null, finishReason); }

    @Override
    protected ObjectNode body(String finishReason, ObjectNode usage) {
        ObjectNode b = chunk(text.toString(), params.logprobs() ? (all != null ? all : logprobs.of(GenerateResponse.getDefaultInstance())) : null,
                finishReason);
        b.set("usage", usage);
        return b;
    }

    @Override
    protected String chunkObject() { return "text_completion"; }
}
