package dev.tessera.worker.engine;

import java.util.List;

/**
 * One step for one shard: the sequences scheduled in it, in order, and (past the first stage) the hidden states of
 * all their tokens, concatenated in the same order.
 *
 * @param allLogits when true the last stage returns logits for every token, not only each sampled sequence's last
 *                  (verification needs them; serving does not)
 * @param trace     when true the shard returns the residual stream after every layer (verification only)
 * @param logitsWanted when false, nobody reads the sampled rows' logits (no log-probabilities were asked), so a last
 *                  stage whose sequences are all greedy may pick their tokens where it computes and return no logits
 */
public record ShardStep(List<SequenceChunk> sequences, HiddenStates hidden, boolean allLogits, boolean trace,
                        boolean logitsWanted) {

    public ShardStep {
        sequences = List.copyOf(sequences);
        if (sequences.isEmpty()) throw new IllegalArgumentException("a step needs at least one sequence");
    }

    /** A step whose logits are returned (the safe default: callers that read them need not say so). */
    public ShardStep(List<SequenceChunk> sequences, HiddenStates hidden, boolean allLogits, boolean trace) {
        this(sequences, hidden, allLogits, trace, true);
    }

    public static ShardStep of(List<SequenceChunk> sequences) {
        return new ShardStep(sequences, null, false, false);
    }

    public ShardStep withHidden(HiddenStates next) {
        return new ShardStep(sequences, next, allLogits, trace, logitsWanted);
    }

    public int tokens() {
        int n = 0;
        for (SequenceChunk s : sequences) n += s.length();
        return n;
    }
}
