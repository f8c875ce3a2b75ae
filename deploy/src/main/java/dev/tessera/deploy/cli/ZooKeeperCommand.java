package dev.tessera.deploy.cli;

import dev.tessera.deploy.EmbeddedZooKeeper;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * The {@code zookeeper} role: one standalone ZooKeeper server for a multi-node cluster, running until SIGTERM or
 * Ctrl-C (or until its thread is interrupted, when embedded in a test).
 *
 * <p>NOTE: the data directory is persistent by default. It holds the leader epoch, and workers refuse any epoch
 * older than the newest they have seen: a ZooKeeper that forgot its data would restart epochs at 1, and every
 * running worker would refuse the new leader until restarted.
 */
@Command(name = "zookeeper", mixinStandardHelpOptions = true,
        description = {"Run a standalone ZooKeeper server for a Tessera cluster.",
                "Listens on --host:--port (this machine only by default) and runs until stopped (SIGTERM or Ctrl-C). "
                        + "Point coordinators and workers at it with --zk host:port."})
public final class ZooKeeperCommand implements Callable<Integer> {

    @Option(names = "--port", defaultValue = "2181", description = "Client port. Default: ${DEFAULT-VALUE}.")
    int port;

    @Option(names = "--host", defaultValue = "127.0.0.1",
            description = "Address to listen on; 0.0.0.0 for every interface. Default: ${DEFAULT-VALUE} (this machine only).")
    String host;

    @Option(names = "--data-dir",
            description = "Where ZooKeeper keeps its data; keep it across restarts. Default: $TESSERA_HOME/zookeeper, "
                    + "or ./zookeeper without TESSERA_HOME.")
    Path dataDir;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        Path dir = dataDir != null ? dataDir : defaultDataDir();
        EmbeddedZooKeeper zookeeper = EmbeddedZooKeeper.builder().clientPortAddress(host).clientPort(port).dataDir(dir)
                .portFlag("--port").exitOnFailure(true).build();
        CountDownLatch stopped = new CountDownLatch(1);
        Thread hook = Thread.ofPlatform().name("zookeeper-shutdown").unstarted(() -> {
            zookeeper.close();
            stopped.countDown();
        });
        try (zookeeper) {
            zookeeper.start();
            Runtime.getRuntime().addShutdownHook(hook);
            PrintWriter out = spec.commandLine().getOut();
            out.println("zookeeper ready on " + zookeeper.connectString() + " (data in " + zookeeper.dataDir().toAbsolutePath() + ")");
            out.flush();
            stopped.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException e) {
                // the JVM is shutting down: the hook runs (or ran) and closes the server
            }
        }
        return 0;
    }

    static Path defaultDataDir() {
        String home = System.getenv("TESSERA_HOME");
        return (home != null && !home.isBlank() ? Path.of(home) : Path.of("")).resolve("zookeeper").toAbsolutePath();
    }
}
