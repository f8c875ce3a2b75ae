package dev.tessera.worker.serve;

import dev.tessera.proto.zk.ZkLayout;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.api.CuratorWatcher;
import org.apache.zookeeper.data.Stat;

/**
 * The layer range of a worker started without one, from the cluster configuration in ZooKeeper: the persistent znode
 * {@link ZkLayout#layerConfigPath(String)} holding {@code "first,last"}.
 */
final class LayerAssignment {

    private LayerAssignment() {}

    /**
     * Reads the worker's layer range, waiting (on a ZooKeeper watch) up to {@code timeout} for the znode to exist and
     * hold a value.
     *
     * @throws IllegalStateException when it does not appear in time, or holds something else than "first,last"
     */
    static LayerRange await(CuratorFramework client, ZkLayout layout, String workerId, Duration timeout) throws Exception {
        String path = layout.layerConfigPath(workerId);
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            CountDownLatch changed = new CountDownLatch(1);
            Stat stat = client.checkExists().usingWatcher((CuratorWatcher) event -> changed.countDown()).forPath(path);
            if (stat != null && stat.getDataLength() > 0) {
                String text = new String(client.getData().forPath(path), StandardCharsets.US_ASCII).trim();
                try {
                    return LayerRange.parse(text);
                } catch (IllegalArgumentException e) {
                    throw new IllegalStateException("ZooKeeper znode " + path + " holds \"" + text + "\", not the layer "
                            + "range \"first,last\" of worker " + workerId + " (e.g. \"0,18\")");
                }
            }
            long left = deadline - System.nanoTime();
            if (left <= 0 || !changed.await(left, TimeUnit.NANOSECONDS) && System.nanoTime() >= deadline)
                throw new IllegalStateException("worker " + workerId + " has no layer range: waited " + Worker.describe(timeout)
                        + " for ZooKeeper znode " + path + " to hold \"first,last\" (e.g. \"0,18\"); create it, "
                        + "or start the worker with a layer range (--layers first:last)");
        }
    }
}
