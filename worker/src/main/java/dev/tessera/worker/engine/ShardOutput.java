package dev.tessera.worker.engine;

import java.util.List;
import java.util.Map;

/**
 * What a shard produced for a step.
 *
 * @param hidden     the residual stream for the next stage (null from the last stage)
 * @param logits     last stage only: {@code [logitRows, vocab]} row-major, one row per sampled sequence in step order,
 *                   or one per token when the step asked for all logits; null elsewhere, and null when the
 *                   backend picked greedy tokens itself because the step wanted no logits (ShardStep.logitsWanted)
 * @param sampled    last stage only: the token chosen for each sequence that asked to sample, in step order
 * @param trace      when the step asked for it: residual stream {@code [tokens, hidden]} keyed by hidden-state index
 *                   (0 = embedding output, l + 1 = output of layer l, and {@link #FINAL_NORM} for the final norm)
 */
public record ShardOutput(HiddenStates hidden, float[] logits, int logitRows, List<Sampled> sampled,
                          Map<Integer, float[]> trace) {

    public static final int FINAL_NORM = -1;

    /** A sampled token. */
    public record Sampled(long seqId, int token, float logprob) {}
}
