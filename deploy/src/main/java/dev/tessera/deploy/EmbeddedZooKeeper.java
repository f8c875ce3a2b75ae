package dev.tessera.deploy;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.BindException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.Properties;
import java.util.concurrent.TimeoutException;
import java.util.stream.Stream;
import org.apache.zookeeper.server.embedded.ExitHandler;
import org.apache.zookeeper.server.embedded.ZooKeeperServerEmbedded;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A standalone ZooKeeper server in this JVM, through ZooKeeper's own {@link ZooKeeperServerEmbedded}: what
 * {@code tessera up} starts for its cluster and what {@code tessera zookeeper} runs.
 *
 * <p>Lifecycle: {@link #builder()} → {@link #start()} (returns once the server accepts connections) →
 * {@link #close()} (the port is free again when it returns; a temporary data directory is deleted). One start only.
 *
 * <p>NOTE: port 0 picks a free port before starting, because ZooKeeper itself cannot listen on port 0 (it would
 * open no client port at all). Another process could take that port in the moment between; start then fails with
 * a message saying so.
 */
public final class EmbeddedZooKeeper implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(EmbeddedZooKeeper.class);

    /**
     * How to run it.
     *
     * @param host address to listen on; 127.0.0.1 keeps it to this machine
     * @param port client port, 0 for any free one
     * @param dataDir where ZooKeeper keeps its snapshots and log; null for a temporary directory deleted on close
     * @param tickTime ZooKeeper's basic time unit (session timeouts are 2 to 20 ticks)
     * @param startTimeout how long {@link #start()} waits for the server to accept connections
     * @param portFlag the command-line option that sets the port, named in the "port in use" message
     * @param exitOnFailure whether ZooKeeper may end the JVM (non-zero) when the server dies on its own; for the
     *     dedicated {@code tessera zookeeper} process, never for one embedded with other services or in tests
     * @param maxClientConnections most connections from one client address (ZooKeeper's {@code maxClientCnxns});
     *     0: no limit
     */
    public record Config(String host, int port, Path dataDir, Duration tickTime, Duration startTimeout, String portFlag,
                         boolean exitOnFailure, int maxClientConnections) {
        public Config {
            if (maxClientConnections < 0)
                throw new IllegalArgumentException("max client connections must be >= 0 (0: no limit), got " + maxClientConnections);
            if (host == null || host.isBlank()) throw new IllegalArgumentException("a host to listen on is required");
            if (port < 0 || port > 65535) throw new IllegalArgumentException("ZooKeeper port must be 0..65535, got " + port);
            if (tickTime == null || tickTime.toMillis() < 1 || tickTime.toMillis() > 60_000)
                throw new IllegalArgumentException("tick time must be 1 ms .. 60 s, got " + tickTime);
            if (startTimeout == null || startTimeout.isNegative() || startTimeout.isZero())
                throw new IllegalArgumentException("start timeout must be positive, got " + startTimeout);
            if (portFlag == null || portFlag.isBlank()) throw new IllegalArgumentException("portFlag is required");
        }
    }

    /** ZooKeeper's default limit of connections from one client address. */
    public static final int DEFAULT_MAX_CLIENT_CONNECTIONS = 60;

    public static Builder builder() {
        return new Builder();
    }

    /**
     * Defaults: 127.0.0.1, port 2181, a temporary data directory, tick 2 s, 30 s to start, flag --zk-port, at most
     * {@value #DEFAULT_MAX_CLIENT_CONNECTIONS} connections per client address (ZooKeeper's own default).
     */
    public static final class Builder {
        private String host = "127.0.0.1";
        private int port = 2181;
        private Path dataDir;
        private Duration tickTime = Duration.ofSeconds(2);
        private Duration startTimeout = Duration.ofSeconds(30);
        private String portFlag = "--zk-port";
        private boolean exitOnFailure;
        private int maxClientConnections = DEFAULT_MAX_CLIENT_CONNECTIONS;

        public Builder clientPortAddress(String host) { this.host = host; return this; }
        public Builder clientPort(int port) { this.port = port; return this; }
        public Builder dataDir(Path dataDir) { this.dataDir = dataDir; return this; }
        public Builder tickTime(Duration tickTime) { this.tickTime = tickTime; return this; }
        public Builder startTimeout(Duration startTimeout) { this.startTimeout = startTimeout; return this; }
        public Builder portFlag(String portFlag) { this.portFlag = portFlag; return this; }
        public Builder exitOnFailure(boolean exitOnFailure) { this.exitOnFailure = exitOnFailure; return this; }
        public Builder maxClientConnections(int max) { this.maxClientConnections = max; return this; }

        public EmbeddedZooKeeper build() {
            return new EmbeddedZooKeeper(new Config(host, port, dataDir, tickTime, startTimeout, portFlag, exitOnFailure,
                    maxClientConnections));
        }
    }

    private enum State { LATENT, STARTED, CLOSED }

    private final Config config;
    private State state = State.LATENT;
    private ZooKeeperServerEmbedded server;
    private Path baseDir;       // ZooKeeper's generated config file, and the data when no dataDir was given
    private Path dataDir;
    private int port;

    public EmbeddedZooKeeper(Config config) {
        this.config = config;
    }

    /**
     * Starts the server and waits until it accepts connections.
     *
     * @throws IllegalStateException with a one-sentence message when the port is in use, or when the server does not
     *     come up within the start timeout
     */
    public synchronized EmbeddedZooKeeper start() throws IOException {
        if (state != State.LATENT) throw new IllegalStateException("this ZooKeeper was already started");
        state = State.STARTED;
        InetAddress address = InetAddress.getByName(config.host());
        port = config.port() != 0 ? config.port() : freePort(address);
        checkPortFree(address, port);
        baseDir = Files.createTempDirectory("tessera-zookeeper-");
        dataDir = config.dataDir() != null ? Files.createDirectories(config.dataDir()) : baseDir.resolve("data");
        Properties properties = new Properties();
        properties.setProperty("tickTime", Long.toString(config.tickTime().toMillis()));
        properties.setProperty("dataDir", dataDir.toAbsolutePath().toString());
        properties.setProperty("clientPort", Integer.toString(port));
        properties.setProperty("clientPortAddress", config.host());
        properties.setProperty("admin.enableServer", "false");   // no Jetty admin server on port 8080
        properties.setProperty("maxCnxns", "0");                  // no limit (ZooKeeper's default), said explicitly
        properties.setProperty("maxClientCnxns", Integer.toString(config.maxClientConnections()));
        long timeoutMs = config.startTimeout().toMillis();
        try {
            server = ZooKeeperServerEmbedded.builder().baseDir(baseDir).configuration(properties)
                    .exitHandler(config.exitOnFailure() ? ExitHandler.EXIT : ExitHandler.LOG_ONLY).build();
            server.start(timeoutMs);
            try (Socket probe = new Socket()) {
                probe.connect(new InetSocketAddress(address, port), (int) Math.max(1, timeoutMs));
            }
        } catch (TimeoutException | IOException e) {
            close();
            throw new IllegalStateException("ZooKeeper did not start on " + connectString() + " within "
                    + config.startTimeout().toSeconds() + " s (" + e.getMessage() + "); its log above says why", e);
        } catch (Exception e) {
            close();
            throw new IllegalStateException("ZooKeeper could not start on " + connectString() + ": " + e.getMessage(), e);
        }
        log.info("ZooKeeper listening on {}, data in {}", connectString(), dataDir);
        return this;
    }

    /** "host:port" for clients (an IPv6 host in brackets). */
    public String connectString() {
        String host = config.host();
        return (host.contains(":") && !host.startsWith("[") ? "[" + host + "]" : host) + ":" + port;
    }

    public int port() {
        return port;
    }

    public Path dataDir() {
        return dataDir;
    }

    public Config config() {
        return config;
    }

    /** Stops the server (its port is free when this returns) and deletes a temporary data directory. Idempotent. */
    @Override
    public synchronized void close() {
        if (state == State.CLOSED) return;
        state = State.CLOSED;
        if (server != null) server.close();
        if (baseDir != null) deleteTree(baseDir);
    }

    private void checkPortFree(InetAddress address, int port) throws IOException {
        try (ServerSocket probe = new ServerSocket()) {
            probe.setReuseAddress(true);            // as ZooKeeper binds: a port in TIME_WAIT is free for it
            probe.bind(new InetSocketAddress(address, port));
        } catch (BindException e) {
            state = State.CLOSED;
            throw new IllegalStateException("ZooKeeper cannot listen on " + connectString() + ": the port is already in use"
                    + " (another ZooKeeper?); stop that process or choose another port with " + config.portFlag());
        }
    }

    private static int freePort(InetAddress address) throws IOException {
        try (ServerSocket socket = new ServerSocket(0, 1, address)) {
            return socket.getLocalPort();
        }
    }

    private static void deleteTree(Path root) {
        try (Stream<Path> paths = Files.walk(root)) {
            paths.sorted(Comparator.reverseOrder()).forEach(p -> {
                try {
                    Files.deleteIfExists(p);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            });
        } catch (IOException | UncheckedIOException e) {
            log.warn("could not delete ZooKeeper's temporary directory {}: {}", root, e.getMessage());
        }
    }
}
