package dev.tessera.deploy;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.retry.RetryOneTime;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** ZooKeeper's embedded server as Tessera runs it: a real server on loopback, reached with Curator. */
class EmbeddedZooKeeperTest {

    static CuratorFramework connect(String connectString) throws InterruptedException {
        CuratorFramework client = CuratorFrameworkFactory.newClient(connectString, 10_000, 5_000, new RetryOneTime(100));
        client.start();
        assertTrue(client.blockUntilConnected(10, TimeUnit.SECONDS), "could not connect to " + connectString);
        return client;
    }

    static void assertPortFree(int port) throws Exception {
        try (ServerSocket socket = new ServerSocket()) {
            socket.setReuseAddress(true);
            socket.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
        }
    }

    @Test
    void startsOnAFreePortServesClientsAndReleasesEverythingOnClose() throws Exception {
        Path dataDir;
        int port;
        try (EmbeddedZooKeeper zk = EmbeddedZooKeeper.builder().clientPort(0).tickTime(Duration.ofMillis(500)).build().start()) {
            port = zk.port();
            assertTrue(port > 0);
            assertEquals("127.0.0.1:" + port, zk.connectString());
            dataDir = zk.dataDir();
            try (CuratorFramework client = connect(zk.connectString())) {
                client.create().creatingParentsIfNeeded().forPath("/tessera/hello", "world".getBytes(StandardCharsets.UTF_8));
                assertArrayEquals("world".getBytes(StandardCharsets.UTF_8), client.getData().forPath("/tessera/hello"));
            }
            assertTrue(Files.isDirectory(dataDir));
        }
        assertPortFree(port);
        assertFalse(Files.exists(dataDir), "a temporary data directory is deleted on close");
    }

    @Test
    void aGivenDataDirKeepsTheDataAcrossRestarts(@TempDir Path dir) throws Exception {
        try (EmbeddedZooKeeper zk = EmbeddedZooKeeper.builder().clientPort(0).dataDir(dir.resolve("zk")).build().start();
             CuratorFramework client = connect(zk.connectString())) {
            client.create().creatingParentsIfNeeded().forPath("/tessera/coordinators/epoch", "7".getBytes(StandardCharsets.US_ASCII));
        }
        try (EmbeddedZooKeeper zk = EmbeddedZooKeeper.builder().clientPort(0).dataDir(dir.resolve("zk")).build().start();
             CuratorFramework client = connect(zk.connectString())) {
            assertEquals("7", new String(client.getData().forPath("/tessera/coordinators/epoch"), StandardCharsets.US_ASCII));
        }
        assertTrue(Files.isDirectory(dir.resolve("zk")), "a given data directory is kept");
    }

    @Test
    void aPortInUseFailsWithOneSentenceNamingTheFlag() throws Exception {
        try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
            EmbeddedZooKeeper zk = EmbeddedZooKeeper.builder().clientPort(taken.getLocalPort()).build();
            IllegalStateException e = assertThrows(IllegalStateException.class, zk::start);
            assertEquals("ZooKeeper cannot listen on 127.0.0.1:" + taken.getLocalPort() + ": the port is already in use "
                    + "(another ZooKeeper?); stop that process or choose another port with --zk-port", e.getMessage());
            zk.close();
        }
    }

    @Test
    void configIsValidated() {
        assertThrows(IllegalArgumentException.class, () -> EmbeddedZooKeeper.builder().clientPort(70_000).build());
        assertThrows(IllegalArgumentException.class, () -> EmbeddedZooKeeper.builder().clientPortAddress(" ").build());
        assertThrows(IllegalArgumentException.class, () -> EmbeddedZooKeeper.builder().tickTime(Duration.ZERO).build());
        assertThrows(IllegalArgumentException.class, () -> EmbeddedZooKeeper.builder().maxClientConnections(-1).build());
    }
}
