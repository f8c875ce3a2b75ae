package dev.tessera.coordinator.cluster;

import static org.junit.jupiter.api.Assertions.assertNotNull;

import dev.tessera.proto.zk.ZkLayout;
import java.io.Closeable;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.concurrent.TimeUnit;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.retry.ExponentialBackoffRetry;
import org.apache.curator.test.TestingServer;
import org.apache.curator.utils.CloseableUtils;

/**
 * A real in-process ZooKeeper server (curator-test's TestingServer) and the Curator clients a test opens, each its
 * own session. {@link #close()} closes everything the test registered, newest first (closing twice is allowed), then the server.
 */
final class ZooKeeperFixture implements AutoCloseable {

    static final ZkLayout LAYOUT = new ZkLayout("/tessera-test");
    static final long WAIT_S = 10;

    final TestingServer server;
    private final Deque<Closeable> opened = new ArrayDeque<>();

    ZooKeeperFixture() throws Exception {
        server = new TestingServer(true);
    }

    /** A started client with a 10 s session, closed by {@link #close()}. */
    CuratorFramework client() throws InterruptedException {
        CuratorFramework client = CuratorFrameworkFactory.builder().connectString(server.getConnectString())
                .sessionTimeoutMs(10_000).connectionTimeoutMs(5_000).retryPolicy(new ExponentialBackoffRetry(50, 5)).build();
        client.start();
        if (!client.blockUntilConnected((int) WAIT_S, TimeUnit.SECONDS)) throw new IllegalStateException("could not connect to the test ZooKeeper");
        return track(client);
    }

    <T extends Closeable> T track(T closeable) {
        opened.push(closeable);
        return closeable;
    }

    @Override
    public void close() {
        while (!opened.isEmpty()) {
            try {
                opened.pop().close();
            } catch (Exception e) {
                // already closed by the test itself (Curator then throws CuratorClosedException): nothing left to stop
            }
        }
        CloseableUtils.closeQuietly(server);
    }

    /** Takes the next item of a queue an asynchronous listener fills, failing after {@value #WAIT_S} s. */
    static <T> T next(java.util.concurrent.BlockingQueue<T> queue, String what) throws InterruptedException {
        T item = queue.poll(WAIT_S, TimeUnit.SECONDS);
        assertNotNull(item, "no " + what + " within " + WAIT_S + " s");
        return item;
    }
}
