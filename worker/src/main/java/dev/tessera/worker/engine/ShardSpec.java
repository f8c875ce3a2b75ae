package dev.tessera.worker.engine;

/**
 * Which layers a shard runs and how large its KV cache is.
 *
 * @param firstLayer   first layer, inclusive; the shard starting at 0 embeds tokens
 * @param lastLayer    last layer, exclusive; the shard ending at the model's layer count norms, unembeds and samples
 * @param kvBlocks     blocks in the paged KV cache (the same block ids are valid on every stage of a replica)
 * @param kvBlockSize  tokens per block
 */
public record ShardSpec(int firstLayer, int lastLayer, int kvBlocks, int kvBlockSize) {

    public ShardSpec {
        if (firstLayer < 0 || lastLayer <= firstLayer)
            throw new IllegalArgumentException("layer range [" + firstLayer + ", " + lastLayer + ") is empty or negative");
        if (kvBlocks <= 0) throw new IllegalArgumentException("kvBlocks must be positive");
        if (kvBlockSize <= 0) throw new IllegalArgumentException("kvBlockSize must be positive");
    }

    public int layerCount() { return lastLayer - firstLayer; }

    /** Splits {@code layers} into {@code stages} contiguous ranges as even as possible, earlier stages no smaller. */
    public static ShardSpec[] split(int layers, int stages, int kvBlocks, int kvBlockSize) {
        if (stages < 1 || stages > layers)
            throw new IllegalArgumentException("cannot split " + layers + " layers over " + stages + " stages");
        ShardSpec[] specs = new ShardSpec[stages];
        int first = 0;
        for (int s = 0; s < stages; s++) {
            int count = layers / stages + (s < layers % stages ? 1 : 0);
            specs[s] = new ShardSpec(first, first + count, kvBlocks, kvBlockSize);
            first += count;
        }
        return specs;
    }
}
