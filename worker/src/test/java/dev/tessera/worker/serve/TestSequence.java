package dev.tessera.worker.serve;

import dev.tessera.proto.v1.SamplingParams;
import dev.tessera.proto.v1.SequenceStep;
import java.util.ArrayList;
import java.util.List;

/**
 * One sequence as a coordinator tracks it: its tokens, how many every stage has computed, and its KV block table
 * (blocks handed out from {@code firstBlock} up, only as positions need them).
 */
final class TestSequence {

    final long id;
    final int promptLength;
    final List<Integer> tokens = new ArrayList<>();
    private final SamplingParams sampling;
    private final int blockSize;
    private int computed, tableBlocks, nextBlock;
    private boolean sent;

    TestSequence(long id, int[] prompt, SamplingParams sampling, int blockSize, int firstBlock) {
        this.id = id;
        this.promptLength = prompt.length;
        for (int t : prompt) tokens.add(t);
        this.sampling = sampling;
        this.blockSize = blockSize;
        this.nextBlock = firstBlock;
    }

    static SamplingParams greedy() { return SamplingParams.newBuilder().setTemperature(0f).setSeed(1).build(); }

    /** The next {@code n} uncomputed tokens as a SequenceStep; it samples when they reach the last known token. */
    SequenceStep chunk(int n) {
        int start = computed, end = start + n;
        if (end > tokens.size()) throw new IllegalArgumentException("only " + (tokens.size() - start) + " tokens to schedule");
        SequenceStep.Builder s = SequenceStep.newBuilder().setSeqId(id).setStartPosition(start)
                .addAllTokens(tokens.subList(start, end));
        int needed = (end + blockSize - 1) / blockSize;
        for (; tableBlocks < needed; tableBlocks++) s.addBlockIds(nextBlock++);
        if (!sent) s.setNewSequence(true).setSampling(sampling);
        if (end == tokens.size()) s.setSample(true).setSampleIndex(tokens.size() - promptLength);
        computed = end;
        sent = true;
        return s.build();
    }

    /** Every token not computed yet. */
    SequenceStep rest() { return chunk(tokens.size() - computed); }

    void append(int token) { tokens.add(token); }

    int blocks() { return tableBlocks; }

    List<Integer> generated() { return tokens.subList(promptLength, tokens.size()); }
}
