package dev.tessera.worker.serve;

import dev.tessera.proto.zk.ZkLayout;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongConsumer;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.recipes.cache.CuratorCache;
import org.apache.curator.framework.recipes.cache.CuratorCacheListener;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The newest leader epoch this worker has seen: on an accepted Forward stream, or, when watching, in ZooKeeper's
 * epoch node ({@link ZkLayout#epochPath()}), which a new leader raises before it sends anything. A stream whose epoch
 * is older is refused or closed with FAILED_PRECONDITION, so a deposed leader cannot drive the stage even before the
 * new one opens its stream.
 *
 * <p>Thread safety: {@link #observe} may be called from any thread; the epoch only rises. The listener runs on the
 * thread that raised it, once per rise.
 */
public final class EpochFence implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(EpochFence.class);

    private final AtomicLong newest = new AtomicLong();
    private final LongConsumer onRaise;
    private CuratorCache cache;

    /** @param onRaise told each new newest epoch */
    EpochFence(LongConsumer onRaise) { this.onRaise = onRaise; }

    /** The newest epoch seen; 0 when none yet. */
    public long newest() { return newest.get(); }

    /** Takes {@code epoch} as seen; returns true when it is newer than any before. */
    public boolean observe(long epoch) {
        long before = newest.getAndAccumulate(epoch, Math::max);
        if (epoch <= before) return false;
        onRaise.accept(epoch);
        return true;
    }

    /** Watches the cluster's epoch node from now until {@link #close()}; an absent node is epoch 0. */
    public synchronized void watch(CuratorFramework client, ZkLayout layout) {
        if (cache != null) throw new IllegalStateException("already watching the leader epoch");
        String path = layout.epochPath();
        cache = CuratorCache.build(client, path, CuratorCache.Options.SINGLE_NODE_CACHE);
        cache.listenable().addListener(CuratorCacheListener.builder()
                .forCreatesAndChanges((before, now) -> {
                    try {
                        if (observe(ZkLayout.decodeEpoch(now.getData())))
                            log.info("leader epoch {} seen in ZooKeeper at {}", newest(), path);
                    } catch (IllegalStateException e) {
                        log.warn("ignoring {}: {}", path, e.getMessage());
                    }
                })
                .build());
        cache.start();
    }

    @Override
    public synchronized void close() {
        if (cache != null) cache.close();
        cache = null;
    }
}
