package dev.tessera.coordinator.scheduler;

import java.util.ArrayDeque;

/**
 * The KV block pool of one replica, counted at the coordinator. Every stage of the replica has a pool of the same
 * block ids; the coordinator decides which sequence uses which block, and the stages just follow the block tables
 * it sends. So freeing a block here is all it takes for it to be reused.
 *
 * <p>NOTE: a block freed while a step that writes it is still in flight may be given to another sequence in a later
 * step. That is safe because every stage runs a replica's steps in order: the older step's write lands first and
 * the new owner overwrites its positions before it ever reads them.
 */
public final class KvBlocks {

    private final int blockSize;
    private final int capacity;
    private final ArrayDeque<Integer> free = new ArrayDeque<>();

    public KvBlocks(int capacity, int blockSize) {
        if (capacity < 1 || blockSize < 1) throw new IllegalArgumentException("capacity and block size must be >= 1");
        this.capacity = capacity;
        this.blockSize = blockSize;
        for (int b = 0; b < capacity; b++) free.add(b);
    }

    public int blockSize() { return blockSize; }

    public int capacity() { return capacity; }

    public int freeBlocks() { return free.size(); }

    public int usedBlocks() { return capacity - free.size(); }

    /** Blocks needed to hold {@code tokens} positions. */
    public int blocksFor(long tokens) { return (int) ((tokens + blockSize - 1) / blockSize); }

    /** Whether {@code seq}'s table can grow to hold {@code tokens} positions. */
    public boolean canAllocate(Sequence seq, int tokens) {
        return blocksFor(tokens) - seq.blockTable().size() <= free.size();
    }

    /** Grows {@code seq}'s table to hold {@code tokens} positions; call {@link #canAllocate} first. */
    public void allocate(Sequence seq, int tokens) {
        int needed = blocksFor(tokens) - seq.blockTable().size();
        if (needed > free.size())
            throw new IllegalStateException("sequence " + seq.id() + " needs " + needed + " KV blocks, " + free.size() + " free");
        for (int i = 0; i < needed; i++) seq.blockTable().add(free.poll());
    }

    /** Returns every block of {@code seq} to the pool and empties its table. */
    public void free(Sequence seq) {
        free.addAll(seq.blockTable());
        seq.blockTable().clear();
    }
}
