package dev.tessera.worker.backend;

/**
 * Where each token of a step sits, for attention over a paged KV cache.
 *
 * @param positions    [tokens] position of each token in its sequence
 * @param sequenceOf   [tokens] index into {@code blockTables} of each token's sequence
 * @param blockTables  [sequences][] the cache blocks of each sequence, in position order
 * @param blockSize    tokens per cache block
 */
public record AttentionBatch(int[] positions, int[] sequenceOf, int[][] blockTables, int blockSize) {

    public AttentionBatch {
        if (positions.length != sequenceOf.length)
            throw new IllegalArgumentException("positions and sequenceOf differ in length");
        if (blockSize <= 0) throw new IllegalArgumentException("blockSize must be positive");
    }

    public int tokens() { return positions.length; }

    /** The cache slot of the key at {@code position} in the sequence of token {@code t}. */
    public int slot(int t, int position) {
        int[] table = blockTables[sequenceOf[t]];
        return table[position / blockSize] * blockSize + position % blockSize;
    }
}
