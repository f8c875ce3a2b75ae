package dev.tessera.coordinator;

import dev.tessera.coordinator.api.ClusterView;
import dev.tessera.coordinator.api.InferenceService;
import dev.tessera.coordinator.cluster.Leadership;
import dev.tessera.coordinator.cluster.LeadershipConfig;
import dev.tessera.coordinator.cluster.LeadershipListener;
import dev.tessera.coordinator.cluster.Membership;
import dev.tessera.coordinator.cluster.MembershipListener;
import dev.tessera.coordinator.cluster.Replica;
import dev.tessera.coordinator.cluster.ReplicaPlan;
import dev.tessera.coordinator.engine.ReplicaRoute;
import dev.tessera.coordinator.engine.ReplicaSet;
import dev.tessera.coordinator.engine.StageChannels;
import dev.tessera.coordinator.metrics.ServingMetrics;
import dev.tessera.proto.v1.CoordinatorInfo;
import dev.tessera.proto.v1.InferenceGrpc;
import dev.tessera.proto.v1.WorkerInfo;
import dev.tessera.coordinator.openai.GatewayMetrics;
import dev.tessera.coordinator.openai.OpenAiGateway;
import dev.tessera.coordinator.text.Tokenizer;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.protobuf.services.HealthStatusManager;
import io.grpc.protobuf.services.ProtoReflectionServiceV1;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.retry.ExponentialBackoffRetry;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A coordinator process: serves the Inference API (gRPC, and the OpenAI-compatible HTTP API when configured), keeps a warm view of the workers, and, while it holds
 * leadership, schedules every replica. A standby answers UNAVAILABLE naming the leader, and takes over when the
 * leader's ZooKeeper session ends.
 *
 * <p>Lifecycle: {@link #start} connects to ZooKeeper (or fails with a message within the start timeout), starts the
 * membership view and the gRPC server, then joins the leader election. {@link #close} gives up leadership (a
 * standby takes over at once), stops the engine loops and the server.
 */
public final class Coordinator implements ClusterView, AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(Coordinator.class);

    private final CoordinatorConfig config;
    private final CuratorFramework curator;
    private final StageChannels stageChannels = new StageChannels();
    private final ExecutorService streams;
    private final HealthStatusManager health = new HealthStatusManager();
    private final ServingMetrics metrics = new ServingMetrics(this::replicaSet);
    private final Server server;
    private final Server inProcess;             // the same Inference service, for the HTTP gateway on this process
    private final ManagedChannel inProcessChannel;
    private final GatewayUpstream upstream;
    private final OpenAiGateway gateway;        // null when the HTTP API is off
    private final String address;
    private final Membership membership;
    private final Leadership leadership;
    private volatile ReplicaSet replicaSet;   // non-null while leading
    private volatile long epoch;
    private volatile List<String> problems = List.of();
    private volatile boolean closing;
    private List<Replica> planned = List.of();

    private Coordinator(CoordinatorConfig config) throws Exception {
        this.config = config;
        this.curator = CuratorFrameworkFactory.builder().connectString(config.zkConnect())
                .sessionTimeoutMs((int) config.zkSessionTimeout().toMillis())
                .connectionTimeoutMs((int) Math.min(config.startTimeout().toMillis(), config.zkSessionTimeout().toMillis()))
                .retryPolicy(new ExponentialBackoffRetry(200, 10, 5_000)).build();
        curator.start();
        if (!curator.blockUntilConnected((int) config.startTimeout().toMillis(), TimeUnit.MILLISECONDS)) {
            curator.close();
            throw new IllegalStateException("cannot reach ZooKeeper at " + config.zkConnect() + " within "
                    + config.startTimeout().toSeconds() + " s; is it running (./tessera zookeeper)?");
        }
        this.streams = Executors.newFixedThreadPool(Math.max(2, Runtime.getRuntime().availableProcessors()),
                Thread.ofPlatform().name("response-", 0).daemon().factory());
        this.membership = new Membership(curator, config.layout());
        membership.addListener(new MembershipListener() {
            @Override public void workersChanged(List<WorkerInfo> workers) { reconcile(workers); }
        });
        membership.start();

        health.setStatus("", ServingStatus.NOT_SERVING);
        health.setStatus(InferenceGrpc.SERVICE_NAME, ServingStatus.NOT_SERVING);
        InferenceService inference = new InferenceService(this, streams, metrics);
        try {
            this.server = NettyServerBuilder.forAddress(new InetSocketAddress(config.host(), config.port()))
                    .addService(inference)
                    .addService(health.getHealthService())
                    .addService(ProtoReflectionServiceV1.newInstance())
                    .build().start();
        } catch (IOException e) {
            closeQuietly(membership);
            curator.close();
            streams.shutdownNow();
            throw new IOException("cannot serve gRPC on " + config.host() + ":" + config.port() + ": " + e.getMessage()
                    + (config.port() != 0 ? " (is another coordinator running? choose another --port)" : ""), e);
        }
        this.address = config.host() + ":" + server.getPort();
        String inProcessName = "tessera-inference-" + address + "-" + System.identityHashCode(this);
        this.inProcess = InProcessServerBuilder.forName(inProcessName).addService(inference).build().start();
        this.inProcessChannel = InProcessChannelBuilder.forName(inProcessName).build();
        this.upstream = new GatewayUpstream(this, inProcessChannel);
        try {
            this.gateway = config.http() == null ? null
                    : OpenAiGateway.start(config.http(), upstream, Tokenizer.shared(), new GatewayMetrics() {
                        @Override public String scrape() { return metrics.scrape(); }
                        @Override public void httpRequest(String route, int status) { metrics.httpRequest(route, status); }
                    });
        } catch (IOException e) {
            releaseAfterFailedStart(null);
            throw e;
        }
        String id = config.coordinatorId() != null ? config.coordinatorId() : address;
        this.leadership = new Leadership(curator, new LeadershipConfig(config.layout(), id, address), new LeadershipListener() {
            @Override public void onLeader(long epoch) { lead(epoch); }
            @Override public void onStandby() { standBy(); }
        });
        try {
            leadership.start();
        } catch (Exception | Error e) {
            releaseAfterFailedStart(gateway);
            throw e;
        }
        log.info("coordinator {} serving gRPC on {}{} (ZooKeeper {} {})", id, address,
                gateway == null ? "" : ", HTTP on " + config.host() + ":" + gateway.port(), config.zkConnect(), config.layout().root());
    }

    /**
     * Releases what a constructor that fails after the servers are up has started. NOTE: nothing may outlive a failed
     * start: Netty's and gRPC's threads are not daemons and would keep the JVM alive.
     */
    private void releaseAfterFailedStart(OpenAiGateway startedGateway) {
        if (startedGateway != null) startedGateway.close();
        inProcessChannel.shutdownNow();
        inProcess.shutdownNow();
        server.shutdownNow();
        closeQuietly(membership);
        curator.close();
        streams.shutdownNow();
    }

    /** Starts a coordinator; it becomes leader or standby on its own. */
    public static Coordinator start(CoordinatorConfig config) throws Exception {
        return new Coordinator(config);
    }

    public String address() { return address; }

    public int port() { return server.getPort(); }

    /** The HTTP API's port, or -1 when it is off. */
    public int httpPort() { return gateway == null ? -1 : gateway.port(); }

    public boolean isLeader() { return replicaSet != null; }

    public long epoch() { return epoch; }

    /** This coordinator's serving metrics (Prometheus text through {@link ServingMetrics#scrape()}). */
    public ServingMetrics metrics() { return metrics; }

    @Override
    public ReplicaSet replicaSet() { return replicaSet; }

    @Override
    public String leaderAddress() {
        return membership.leader().map(CoordinatorInfo::getAddress).orElse(null);
    }

    @Override
    public List<String> problems() { return problems; }

    private synchronized void lead(long newEpoch) {
        log.info("leading with epoch {}", newEpoch);
        if (replicaSet != null) replicaSet.close();
        epoch = newEpoch;
        replicaSet = new ReplicaSet(stageChannels, config.limits(), config.maxLive());
        replicaSet.onChange(this::updateHealth);
        reconcile(membership.workers());
    }

    private synchronized void standBy() {
        ReplicaSet was = replicaSet;
        replicaSet = null;
        epoch = 0;
        if (was != null) {
            if (closing) log.info("stopping every replica's engine");
            else log.warn("lost leadership: stopping every replica's engine");
            was.close();
        }
        updateHealth();
    }

    /** Matches the engine loops to the replicas the registered workers form now. */
    private synchronized void reconcile(List<WorkerInfo> workers) {
        ReplicaPlan plan = ReplicaPlan.assemble(workers, planned);
        planned = plan.replicas();
        problems = plan.problems();
        if (!problems.isEmpty()) log.info("replicas: {} ready; not ready: {}", planned.size(), problems);
        ReplicaSet set = replicaSet;
        if (set != null) {
            List<ReplicaRoute> routes = plan.replicas().stream().map(Coordinator::route).toList();
            set.update(routes, epoch);
        }
        updateHealth();
    }

    private void updateHealth() {
        ReplicaSet set = replicaSet;
        // NOTE: SERVING only while this coordinator leads and at least one replica is complete: a load balancer
        // or an orchestrator must never see OK from a coordinator that cannot generate.
        ServingStatus status = set != null && !set.replicas().isEmpty() ? ServingStatus.SERVING : ServingStatus.NOT_SERVING;
        health.setStatus("", status);
        health.setStatus(InferenceGrpc.SERVICE_NAME, status);
    }

    private static ReplicaRoute route(Replica r) {
        WorkerInfo last = r.stages().getLast();
        // NOTE: a replica is simulated if any stage is (simulated fingerprints keep them apart from real ones anyway).
        boolean simulated = r.stages().stream().anyMatch(WorkerInfo::getSimulated);
        String latency = r.stages().stream().map(WorkerInfo::getLatencyModel).filter(s -> !s.isEmpty()).distinct()
                .collect(java.util.stream.Collectors.joining("; "));
        return new ReplicaRoute(r.id(), r.model(), r.fingerprint(), r.route().getStagesList(), r.kvCapacityBlocks(),
                r.kvBlockSize(), r.maxBatchTokens(), last.getVocabSize(), last.getMaxContextTokens(), simulated, latency);
    }

    /** Waits until this coordinator leads and {@code replicas} replicas serve; false on timeout. */
    public boolean awaitReplicas(int replicas, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            ReplicaSet set = replicaSet;
            if (set != null && set.replicas().size() >= replicas) return true;
            Thread.sleep(20);
        }
        return false;
    }

    /** Ends abruptly, as a crashed process would: no handover, the ZooKeeper session just ends. For tests. */
    public void kill() {
        if (gateway != null) gateway.close();
        server.shutdownNow();
        inProcessChannel.shutdownNow();
        inProcess.shutdownNow();
        upstream.close();
        curator.close();
        ReplicaSet set = replicaSet;
        replicaSet = null;
        if (set != null) set.close();
        stageChannels.close();
        streams.shutdownNow();
    }

    @Override
    public void close() {
        closing = true;
        health.enterTerminalState();
        closeQuietly(leadership);
        if (gateway != null) gateway.close(); // closes its connections, which cancels their requests
        standBy();
        server.shutdown();
        inProcessChannel.shutdownNow();
        inProcess.shutdownNow();
        upstream.close();
        try {
            if (!server.awaitTermination(2, TimeUnit.SECONDS)) server.shutdownNow();
        } catch (InterruptedException e) {
            server.shutdownNow();
            Thread.currentThread().interrupt();
        }
        closeQuietly(membership);
        curator.close();
        stageChannels.close();
        streams.shutdownNow();
        log.info("coordinator on {} stopped", address);
    }

    private static void closeQuietly(java.io.Closeable c) {
        try {
            c.close();
        } catch (IOException | RuntimeException e) {
            log.warn("while closing {}: {}", c.getClass().getSimpleName(), e.toString());
        }
    }
}
