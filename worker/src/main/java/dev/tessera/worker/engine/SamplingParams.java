package dev.tessera.worker.engine;

/**
 * How the last stage picks a sequence's next token.
 *
 * @param temperature 0 picks the most likely token (greedy); otherwise logits are divided by it before the softmax
 * @param topK        keep only the k most likely tokens; 0 keeps all
 * @param topP        keep the smallest set of most likely tokens whose probability reaches p; 1 keeps all
 * @param seed        seeds the draw: the same seed, logits and token index give the same token whatever the batch
 */
public record SamplingParams(float temperature, int topK, float topP, long seed) {

    public static final SamplingParams GREEDY = new SamplingParams(0f, 0, 1f, 0L);

    public SamplingParams {
        if (!(temperature >= 0) || Float.isInfinite(temperature))
            throw new IllegalArgumentException("temperature must be a finite number >= 0, got " + temperature);
        if (topK < 0) throw new IllegalArgumentException("top_k must be >= 0, got " + topK);
        if (!(topP > 0 && topP <= 1)) throw new IllegalArgumentException("top_p must be in (0, 1], got " + topP);
    }

    public boolean greedy() { return temperature == 0f; }
}
