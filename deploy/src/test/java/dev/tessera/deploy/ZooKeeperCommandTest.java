package dev.tessera.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.io.Writer;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.curator.framework.CuratorFramework;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** {@code tessera zookeeper}: ready line, a working server, a clean stop, and a one-line error for a busy port. */
class ZooKeeperCommandTest {

    /** Collects what the command prints and opens a latch once the ready line is complete. */
    static final class ReadyWatch extends Writer {
        final StringBuilder text = new StringBuilder();
        final CountDownLatch ready = new CountDownLatch(1);

        @Override public synchronized void write(char[] buf, int off, int len) {
            text.append(buf, off, len);
            if (text.toString().matches("(?s).*zookeeper ready on \\S+ .*\\R.*")) ready.countDown();
        }
        @Override public void flush() {}
        @Override public void close() {}
        synchronized String text() { return text.toString(); }
    }

    static int freePort() throws Exception {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
            return s.getLocalPort();
        }
    }

    @Test
    void runsUntilStoppedAndServesClients(@TempDir Path dir) throws Exception {
        int port = freePort();
        ReadyWatch out = new ReadyWatch();
        CommandLine cli = TesseraMain.commandLine();
        cli.setOut(new PrintWriter(out, true));
        AtomicInteger exit = new AtomicInteger(-1);
        Thread role = Thread.ofPlatform().name("zookeeper-role").start(() -> exit.set(
                cli.execute("zookeeper", "--port", Integer.toString(port), "--data-dir", dir.resolve("zk").toString())));
        try {
            assertTrue(out.ready.await(30, TimeUnit.SECONDS), "no ready line; printed: " + out.text());
            assertTrue(out.text().startsWith("zookeeper ready on 127.0.0.1:" + port + " "), out.text());
            try (CuratorFramework client = EmbeddedZooKeeperTest.connect("127.0.0.1:" + port)) {
                client.create().creatingParentsIfNeeded().forPath("/tessera/ping", "1".getBytes(StandardCharsets.US_ASCII));
                assertEquals(1, client.getChildren().forPath("/tessera").size());
            }
        } finally {
            role.interrupt();                    // what SIGTERM's shutdown hook does in a real process: stop the server
            role.join(TimeUnit.SECONDS.toMillis(30));
        }
        assertFalse(role.isAlive());
        assertEquals(0, exit.get());
        EmbeddedZooKeeperTest.assertPortFree(port);
        assertTrue(Files.isDirectory(dir.resolve("zk")), "the data directory stays");
    }

    @Test
    void aBusyPortIsOneLineNamingTheOption(@TempDir Path dir) throws Exception {
        try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
            CommandLine cli = TesseraMain.commandLine();
            StringWriter err = new StringWriter();
            cli.setErr(new PrintWriter(err, true));
            int exit = cli.execute("zookeeper", "--port", Integer.toString(taken.getLocalPort()), "--data-dir", dir.toString());
            assertEquals(2, exit);
            assertEquals("zookeeper: ZooKeeper cannot listen on 127.0.0.1:" + taken.getLocalPort() + ": the port is already "
                    + "in use (another ZooKeeper?); stop that process or choose another port with --port", err.toString().strip());
        }
    }
}
