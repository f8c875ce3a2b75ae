package dev.tessera.coordinator.scheduler;

/**
 * One sequence's part of a step.
 *
 * @param seq          the sequence
 * @param generation   the sequence's restart count when this was scheduled; a result for an older generation is void
 * @param start        position of {@code tokens[0]}
 * @param tokens       the tokens to compute (a prefill chunk or the one decode token)
 * @param blockIds     the whole block table when {@code newSequence}, otherwise the ids appended since last sent
 * @param newSequence  the stages must (re)start the sequence: whole table and sampling parameters
 * @param sample       whether the last stage samples a token (the chunk reaches the last known token)
 * @param sampleIndex  index among completion tokens of the token sampled
 */
public record ScheduledChunk(Sequence seq, int generation, int start, int[] tokens, int[] blockIds,
                             boolean newSequence, boolean sample, int sampleIndex) {

    public int length() { return tokens.length; }
}
