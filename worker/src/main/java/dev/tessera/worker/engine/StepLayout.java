package dev.tessera.worker.engine;

import dev.tessera.worker.backend.AttentionBatch;
import java.util.Arrays;

/**
 * A step flattened into per-token arrays: ids, positions, KV slots, and which rows belong to which sequence.
 * Checks the block tables against the cache before any op touches it. Public so that every {@link StageModel} checks
 * and addresses the KV cache the same way.
 */
public record StepLayout(int[] tokenIds, int[] positions, int[] slots, int[] lastRows, int[] sampledRows, AttentionBatch batch) {

    /**
     * @param needTokens whether to copy the token ids (the first stage embeds them); otherwise {@code tokenIds} is -1s
     * @throws IllegalArgumentException when a block table is too short for its chunk or names a block outside the pool
     */
    public static StepLayout of(ShardStep step, ShardSpec spec, boolean needTokens) {
        int n = step.tokens(), seqs = step.sequences().size(), bs = spec.kvBlockSize();
        int[] ids = new int[n], pos = new int[n], seqOf = new int[n], slots = new int[n], last = new int[seqs];
        int[][] tables = new int[seqs][];
        int sampledCount = 0, t = 0;
        for (int s = 0; s < seqs; s++) {
            SequenceChunk c = step.sequences().get(s);
            int needed = (c.endPosition() + bs - 1) / bs;
            if (c.blockTable().length < needed)
                throw new IllegalArgumentException("sequence " + c.seqId() + " reaches position " + (c.endPosition() - 1)
                        + " but its block table holds " + c.blockTable().length + " blocks of " + bs + " tokens");
            for (int b = 0; b < needed; b++)
                if (c.blockTable()[b] < 0 || c.blockTable()[b] >= spec.kvBlocks())
                    throw new IllegalArgumentException("sequence " + c.seqId() + " names KV block " + c.blockTable()[b]
                            + ", outside 0.." + (spec.kvBlocks() - 1));
            tables[s] = c.blockTable();
            for (int i = 0; i < c.length(); i++, t++) {
                ids[t] = needTokens ? c.tokens()[i] : -1;
                pos[t] = c.startPosition() + i;
                seqOf[t] = s;
            }
            last[s] = t - 1;
            if (c.sample()) sampledCount++;
        }
        AttentionBatch batch = new AttentionBatch(pos, seqOf, tables, bs);
        for (int i = 0; i < n; i++) slots[i] = batch.slot(i, pos[i]);
        int[] sampled = new int[sampledCount];
        for (int s = 0, j = 0; s < seqs; s++) if (step.sequences().get(s).sample()) sampled[j++] = last[s];
        return new StepLayout(ids, pos, slots, last, sampled, batch);
    }

    public int tokens() { return positions.length; }

    /** The row of the last token of the {@code sequence}-th chunk. */
    public int lastRowOf(int sequence) { return lastRows[sequence]; }

    int[] allRows() {
        int[] rows = new int[tokens()];
        Arrays.setAll(rows, i -> i);
        return rows;
    }
}
