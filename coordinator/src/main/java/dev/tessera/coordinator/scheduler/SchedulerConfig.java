package dev.tessera.coordinator.scheduler;

/**
 * Limits of one replica's scheduler.
 *
 * @param maxBatchTokens   token budget of one step, summed over its sequences (prefill chunks and decode tokens)
 * @param maxRunning       most sequences holding KV blocks at once
 * @param maxWaiting       most sequences waiting to be admitted; with {@code maxRunning} it bounds what one replica
 *                         holds ({@code maxRunning + maxWaiting}), and the replica set routes no more to it
 * @param kvBlocks         KV blocks of the replica (the smallest stage's pool)
 * @param kvBlockSize      tokens per KV block
 * @param maxContextTokens most positions a sequence may reach (the model's context length)
 * @param maxSkips         how often a waiting sequence that does not fit may be passed over by later, smaller ones
 *                         before admission stops behind it (bounded starvation)
 */
public record SchedulerConfig(int maxBatchTokens, int maxRunning, int maxWaiting, int kvBlocks, int kvBlockSize,
                              int maxContextTokens, int maxSkips) {

    public SchedulerConfig {
        if (maxBatchTokens < 1) throw new IllegalArgumentException("maxBatchTokens must be >= 1, got " + maxBatchTokens);
        if (maxRunning < 1) throw new IllegalArgumentException("maxRunning must be >= 1, got " + maxRunning);
        if (maxWaiting < 0) throw new IllegalArgumentException("maxWaiting must be >= 0, got " + maxWaiting);
        if (kvBlocks < 1) throw new IllegalArgumentException("kvBlocks must be >= 1, got " + kvBlocks);
        if (kvBlockSize < 1) throw new IllegalArgumentException("kvBlockSize must be >= 1, got " + kvBlockSize);
        if (maxContextTokens < 2) throw new IllegalArgumentException("maxContextTokens must be >= 2, got " + maxContextTokens);
        if (maxSkips < 0) throw new IllegalArgumentException("maxSkips must be >= 0, got " + maxSkips);
    }

    /** Defaults for a replica with the given KV pool. */
    public static SchedulerConfig of(int kvBlocks, int kvBlockSize, int maxContextTokens) {
        return new SchedulerConfig(512, 256, 4096, kvBlocks, kvBlockSize, maxContextTokens, 16);
    }

    public SchedulerConfig withMaxBatchTokens(int tokens) {
        return new SchedulerConfig(tokens, maxRunning, maxWaiting, kvBlocks, kvBlockSize, maxContextTokens, maxSkips);
    }

    public SchedulerConfig withMaxRunning(int running) {
        return new SchedulerConfig(maxBatchTokens, running, maxWaiting, kvBlocks, kvBlockSize, maxContextTokens, maxSkips);
    }

    public SchedulerConfig withMaxWaiting(int waiting) {
        return new SchedulerConfig(maxBatchTokens, maxRunning, waiting, kvBlocks, kvBlockSize, maxContextTokens, maxSkips);
    }

    /** Tokens the whole KV pool holds: no sequence can grow beyond this. */
    public long kvTokens() { return (long) kvBlocks * kvBlockSize; }
}
