package dev.tessera.worker.engine;

import java.util.ArrayDeque;
import java.util.Arrays;

/**
 * Hands out KV block ids for in-process use (verification, benchmarks, the single-process demo). In a cluster the
 * coordinator owns this bookkeeping and sends block ids with each step.
 */
public final class BlockPool {

    private final int blockSize;
    private final ArrayDeque<Integer> free = new ArrayDeque<>();

    public BlockPool(int blocks, int blockSize) {
        this.blockSize = blockSize;
        for (int b = 0; b < blocks; b++) free.add(b);
    }

    public int blockSize() { return blockSize; }

    public int freeBlocks() { return free.size(); }

    public boolean canGrow(int[] table, int tokens) { return blocksFor(tokens) - table.length <= free.size(); }

    /** Returns {@code table} extended with enough blocks to hold {@code tokens} positions. */
    public int[] grow(int[] table, int tokens) {
        int needed = blocksFor(tokens);
        if (needed <= table.length) return table;
        if (!canGrow(table, tokens))
            throw new IllegalStateException("KV cache full: " + tokens + " tokens need " + (needed - table.length)
                    + " more blocks, " + free.size() + " free");
        int[] grown = Arrays.copyOf(table, needed);
        for (int i = table.length; i < needed; i++) grown[i] = free.poll();
        return grown;
    }

    public void release(int[] table) {
        for (int b : table) free.add(b);
    }

    private int blocksFor(int tokens) { return (tokens + blockSize - 1) / blockSize; }
}
