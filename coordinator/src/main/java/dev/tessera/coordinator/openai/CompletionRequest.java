package dev.tessera.coordinator.openai;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tessera.coordinator.text.HarmonyTokens;
import dev.tessera.proto.v1.GenerateRequest;
import dev.tessera.proto.v1.TokenIds;

/**
 * A {@code POST /v1/completions} body: a raw prompt (text, or token ids) continued as is, with no chat template.
 *
 * @param text            the prompt text, or null when given as ids; special-token names in it become their ids
 *                        (this is the raw interface for pre-rendered harmony)
 * @param tokenIds        the prompt as token ids, or null
 * @param params          the shared sampling and streaming fields
 * @param skipSpecial     leave special tokens out of the returned text (vLLM's extension; default true)
 * @param ignoreEos       generate until max_tokens whatever is sampled (vLLM's extension, for benchmarks)
 */
record CompletionRequest(String text, int[] tokenIds, GenerationParams params, boolean skipSpecial, boolean ignoreEos) {

    /** The Hugging Face generation_config set: {@code <|return|>}, {@code <|endoftext|>}, {@code <|call|>}. */
    static final int[] STOP_IDS = {HarmonyTokens.RETURN, HarmonyTokens.ENDOFTEXT, HarmonyTokens.CALL};

    static CompletionRequest parse(JsonFields f) throws ApiError.Refusal {
        GenerationParams params = GenerationParams.parse(f, false);
        JsonNode prompt = f.raw("prompt");
        if (prompt == null) throw ApiError.invalid("prompt", "'prompt' is required").refusal();
        // One prompt per request: a string, [string], [ids...] or [[ids...]].
        if (prompt.isArray() && prompt.size() == 1 && (prompt.get(0).isTextual() || prompt.get(0).isArray()))
            prompt = prompt.get(0);
        else if (prompt.isArray() && !prompt.isEmpty() && !prompt.get(0).isNumber())
            throw ApiError.invalid("prompt", "one prompt per request is supported; got " + prompt.size()).refusal();
        String text = null;
        int[] ids = null;
        if (prompt.isTextual()) {
            text = prompt.textValue();
            if (text.isEmpty()) throw ApiError.invalid("prompt", "'prompt' is empty").refusal();
        } else if (prompt.isArray()) {
            if (prompt.isEmpty()) throw ApiError.invalid("prompt", "'prompt' is empty").refusal();
            ids = new int[prompt.size()];
            for (int i = 0; i < ids.length; i++) {
                JsonNode id = prompt.get(i);
                if (!id.isIntegralNumber() || id.longValue() < 0 || id.longValue() >= HarmonyTokens.VOCAB_SIZE)
                    throw ApiError.invalid("prompt", "prompt[" + i + "] must be a token id in 0.." + (HarmonyTokens.VOCAB_SIZE - 1)
                            + ", got " + id).refusal();
                ids[i] = id.intValue();
            }
        } else {
            throw ApiError.invalid("prompt", "'prompt' must be a string or an array of token ids, got " + JsonFields.kind(prompt)).refusal();
        }
        if (Boolean.TRUE.equals(f.bool("echo")))
            throw ApiError.invalid("echo", "'echo' is not supported by this server").refusal();
        if (f.string("suffix") != null)
            throw ApiError.invalid("suffix", "'suffix' is not supported by this server").refusal();
        Long bestOf = f.integer("best_of");
        if (bestOf != null && bestOf != 1)
            throw ApiError.invalid("best_of", "only best_of=1 is supported, got " + bestOf).refusal();
        Boolean skip = f.bool("skip_special_tokens");
        return new CompletionRequest(text, ids, params, skip == null || skip, Boolean.TRUE.equals(f.bool("ignore_eos")));
    }

    GenerateRequest toGenerateRequest(String requestId) {
        GenerateRequest.Builder b = GenerateRequest.newBuilder().setRequestId(requestId).setModel(params.model())
                .setSampling(params.sampling()).addAllStopStrings(params.stop())
                .setSkipSpecialTokens(skipSpecial).setIgnoreStopTokens(ignoreEos);
        for (int id : STOP_IDS) b.addStopTokenIds(id);
        if (text != null) {
            b.setText(text);
        } else {
            TokenIds.Builder t = TokenIds.newBuilder();
            for (int id : tokenIds) t.addIds(id);
            b.setTokenIds(t);
        }
        return b.build();
    }
}
