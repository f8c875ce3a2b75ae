package dev.tessera.worker.serve;

import dev.tessera.proto.zk.ZkLayout;
import dev.tessera.worker.backend.Backend;
import dev.tessera.worker.sim.SimulatedShard;
import dev.tessera.worker.sim.Simulation;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;
import java.util.function.Supplier;

/**
 * How to start one worker.
 *
 * @param workerId           unique id in the cluster, stable across restarts of the same configuration (e.g.
 *                           {@code host-a:7001}); not blank
 * @param host               address to bind the Stage service to, and to advertise in ZooKeeper
 * @param port               TCP port; 0 takes any free one (read it back from {@link Worker#port()})
 * @param modelDir           the checkpoint directory (config.json and safetensors); a simulated worker reads only its
 *                           config.json, and may have none (then it serves its simulation's preset shape)
 * @param layers             the layers to hold; null reads {@code "first,last"} from ZooKeeper at
 *                           {@link ZkLayout#layerConfigPath}, waiting up to {@code startTimeout}
 * @param kvBlocks           KV blocks in the pool; 0 sizes the pool from {@code kvMemoryBytes}
 * @param kvMemoryBytes      the KV pool's memory budget when {@code kvBlocks} is 0
 * @param kvBlockSize        tokens per KV block; the same on every stage of a replica
 * @param maxBatchTokens     most tokens (summed over sequences) accepted in one step
 * @param backend            makes the compute backend; called once, while the worker is LOADING; unused (may be null)
 *                           when simulated
 * @param backendDescription the backend for humans, e.g. "cpu (16 threads)"; reported as WorkerInfo.device (a
 *                           simulated worker reports {@link Simulation#DEVICE})
 * @param zkConnect          ZooKeeper connect string; null runs without ZooKeeper (no registration, no epoch watch)
 * @param zkLayout           where the cluster's znodes live
 * @param startTimeout       the longest any wait while starting may take (ZooKeeper connection, the layer znode)
 * @param simulation         null: the engine computes on {@code backend}; otherwise the worker does no model math and
 *                           serves a {@link SimulatedShard} paced by this (and reports itself simulated)
 */
public record WorkerConfig(String workerId, String host, int port, Path modelDir, LayerRange layers, int kvBlocks,
                           long kvMemoryBytes, int kvBlockSize, int maxBatchTokens, Supplier<Backend> backend,
                           String backendDescription, String zkConnect, ZkLayout zkLayout, Duration startTimeout,
                           Simulation simulation) {

    public static final String DEFAULT_HOST = "127.0.0.1";
    public static final long DEFAULT_KV_MEMORY_BYTES = 256L << 20;
    public static final int DEFAULT_KV_BLOCK_SIZE = 16;
    public static final int DEFAULT_MAX_BATCH_TOKENS = 2048;
    public static final Duration DEFAULT_START_TIMEOUT = Duration.ofSeconds(30);

    public WorkerConfig {
        if (workerId == null || workerId.isBlank()) throw new IllegalArgumentException("a worker needs a non-blank id");
        if (workerId.contains("/")) throw new IllegalArgumentException("worker id '" + workerId + "' may not contain '/' (it names a znode)");
        if (host == null || host.isBlank()) throw new IllegalArgumentException("worker " + workerId + ": host must not be blank");
        if (port < 0 || port > 65535) throw new IllegalArgumentException("worker " + workerId + ": port " + port + " is outside 0..65535");
        if (modelDir == null && simulation == null)
            throw new IllegalArgumentException("worker " + workerId + " needs a checkpoint directory (only a simulated worker may have none)");
        if (kvBlocks < 0) throw new IllegalArgumentException("worker " + workerId + ": kv blocks must be >= 0 (0 sizes the pool from memory), got " + kvBlocks);
        if (kvBlocks == 0 && kvMemoryBytes <= 0)
            throw new IllegalArgumentException("worker " + workerId + ": give a positive KV block count or KV memory budget");
        if (kvBlockSize <= 0) throw new IllegalArgumentException("worker " + workerId + ": kv block size must be positive, got " + kvBlockSize);
        if (maxBatchTokens <= 0) throw new IllegalArgumentException("worker " + workerId + ": max batch tokens must be positive, got " + maxBatchTokens);
        if (simulation == null) Objects.requireNonNull(backend, "backend");
        if (backendDescription == null || backendDescription.isBlank()) backendDescription = "unnamed backend";
        if (zkConnect != null && zkConnect.isBlank()) zkConnect = null;
        if (zkLayout == null) zkLayout = ZkLayout.DEFAULT;
        if (startTimeout == null || startTimeout.isNegative() || startTimeout.isZero())
            throw new IllegalArgumentException("worker " + workerId + ": start timeout must be positive");
        if (layers == null && zkConnect == null)
            throw new IllegalArgumentException("worker " + workerId + " has no layer range: give one, or a ZooKeeper "
                    + "connect string to read it from " + zkLayout.layerConfigPath(workerId));
    }

    /** A worker that computes with the engine ({@code simulation} null). */
    public WorkerConfig(String workerId, String host, int port, Path modelDir, LayerRange layers, int kvBlocks,
                        long kvMemoryBytes, int kvBlockSize, int maxBatchTokens, Supplier<Backend> backend,
                        String backendDescription, String zkConnect, ZkLayout zkLayout, Duration startTimeout) {
        this(workerId, host, port, modelDir, layers, kvBlocks, kvMemoryBytes, kvBlockSize, maxBatchTokens, backend,
                backendDescription, zkConnect, zkLayout, startTimeout, null);
    }

    /** Whether the worker simulates instead of computing. */
    public boolean simulated() { return simulation != null; }

    /** A worker on {@value #DEFAULT_HOST}, any free port, without ZooKeeper, with every default. */
    public static WorkerConfig of(String workerId, Path modelDir, LayerRange layers, Supplier<Backend> backend,
                                  String backendDescription) {
        return new WorkerConfig(workerId, DEFAULT_HOST, 0, modelDir, layers, 0, DEFAULT_KV_MEMORY_BYTES,
                DEFAULT_KV_BLOCK_SIZE, DEFAULT_MAX_BATCH_TOKENS, backend, backendDescription, null, ZkLayout.DEFAULT,
                DEFAULT_START_TIMEOUT);
    }

    public WorkerConfig withAddress(String host, int port) {
        return new WorkerConfig(workerId, host, port, modelDir, layers, kvBlocks, kvMemoryBytes, kvBlockSize,
                maxBatchTokens, backend, backendDescription, zkConnect, zkLayout, startTimeout, simulation);
    }

    public WorkerConfig withLayers(LayerRange layers) {
        return new WorkerConfig(workerId, host, port, modelDir, layers, kvBlocks, kvMemoryBytes, kvBlockSize,
                maxBatchTokens, backend, backendDescription, zkConnect, zkLayout, startTimeout, simulation);
    }

    public WorkerConfig withKv(int kvBlocks, int kvBlockSize) {
        return new WorkerConfig(workerId, host, port, modelDir, layers, kvBlocks, kvMemoryBytes, kvBlockSize,
                maxBatchTokens, backend, backendDescription, zkConnect, zkLayout, startTimeout, simulation);
    }

    public WorkerConfig withMaxBatchTokens(int maxBatchTokens) {
        return new WorkerConfig(workerId, host, port, modelDir, layers, kvBlocks, kvMemoryBytes, kvBlockSize,
                maxBatchTokens, backend, backendDescription, zkConnect, zkLayout, startTimeout, simulation);
    }

    /** This worker simulated: no model math, paced by {@code simulation} (null: the engine again). */
    public WorkerConfig withSimulation(Simulation simulation) {
        return new WorkerConfig(workerId, host, port, modelDir, layers, kvBlocks, kvMemoryBytes, kvBlockSize,
                maxBatchTokens, backend, backendDescription, zkConnect, zkLayout, startTimeout, simulation);
    }

    public WorkerConfig withZooKeeper(String zkConnect, ZkLayout zkLayout, Duration startTimeout) {
        return new WorkerConfig(workerId, host, port, modelDir, layers, kvBlocks, kvMemoryBytes, kvBlockSize,
                maxBatchTokens, backend, backendDescription, zkConnect, zkLayout, startTimeout, simulation);
    }

    /**
     * The pool size: {@code kvBlocks}, or as many blocks as {@code kvMemoryBytes} holds for {@code layerCount} layers
     * (K and V, {@code kvHeads · headDim} float32 values per token each).
     */
    public int kvBlocksFor(int layerCount, int kvHeads, int headDim) {
        if (kvBlocks > 0) return kvBlocks;
        long perBlock = (long) layerCount * 2 * kvHeads * headDim * Float.BYTES * kvBlockSize;
        long blocks = kvMemoryBytes / perBlock;
        if (blocks < 1)
            throw new IllegalArgumentException("worker " + workerId + ": a KV budget of " + kvMemoryBytes + " bytes holds no "
                    + "block of " + perBlock + " bytes (" + layerCount + " layers, " + kvBlockSize + " tokens); raise it or give --kv-blocks");
        return (int) Math.min(blocks, Integer.MAX_VALUE);
    }
}
