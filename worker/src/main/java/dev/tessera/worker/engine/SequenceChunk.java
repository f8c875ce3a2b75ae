package dev.tessera.worker.engine;

/**
 * The tokens of one sequence in one step: a prefill chunk or a single decode token.
 *
 * @param seqId         the sequence's id, unique among live sequences
 * @param tokens        token ids at positions {@code startPosition ..}; needed by the first stage only
 * @param startPosition position of {@code tokens[0]} in the sequence (0 for the first prompt token)
 * @param blockTable    the sequence's KV blocks in position order; must cover every position up to the last token
 * @param sample        whether the last stage samples a next token from this chunk's last position
 * @param sampling      how to sample (ignored when {@code sample} is false)
 */
public record SequenceChunk(long seqId, int[] tokens, int startPosition, int[] blockTable, boolean sample,
                            SamplingParams sampling) {

    public SequenceChunk {
        if (tokens.length == 0) throw new IllegalArgumentException("sequence " + seqId + ": a chunk needs at least one token");
        if (startPosition < 0) throw new IllegalArgumentException("sequence " + seqId + ": negative start position");
    }

    public int length() { return tokens.length; }

    /** Position of the token after this chunk: the index of a token sampled from it. */
    public int endPosition() { return startPosition + tokens.length; }
}
