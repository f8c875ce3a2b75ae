package dev.tessera.worker.serve;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tessera.proto.v1.StageGrpc;
import dev.tessera.proto.v1.WorkerInfo;
import dev.tessera.proto.v1.WorkerState;
import dev.tessera.proto.zk.ZkLayout;
import dev.tessera.worker.backend.Backend;
import dev.tessera.worker.backend.BackendLostException;
import dev.tessera.worker.backend.cuda.Cuda;
import dev.tessera.worker.backend.cuda.CudaBackend;
import dev.tessera.worker.checkpoint.Checkpoint;
import dev.tessera.worker.engine.HiddenStates;
import dev.tessera.worker.engine.ModelShard;
import dev.tessera.worker.engine.SamplingParams;
import dev.tessera.worker.engine.SequenceChunk;
import dev.tessera.worker.engine.ShardSpec;
import dev.tessera.worker.engine.ShardStep;
import dev.tessera.worker.engine.StageModel;
import dev.tessera.worker.model.ModelConfig;
import dev.tessera.worker.sim.SimModel;
import dev.tessera.worker.sim.SimulatedShard;
import dev.tessera.worker.sim.Simulation;
import io.grpc.Server;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.protobuf.services.HealthStatusManager;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.retry.ExponentialBackoffRetry;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One worker process's life: it serves one shard of a model as a pipeline stage.
 *
 * <p>{@link #start} connects to ZooKeeper (when configured), finds its layer range (given, or read from ZooKeeper),
 * opens the checkpoint, starts the gRPC server (Stage service plus grpc.health.v1) so that Info answers at once,
 * registers as LOADING, loads the shard, warms it up with one tiny step, and then turns READY: Forward streams are
 * accepted, health says SERVING and the registration says READY. {@link #close()} drains and stops; {@link #kill()}
 * stops as a crash would.
 *
 * <p>A simulated worker ({@link WorkerConfig#simulation()}) reads only the model's config.json (or a preset), loads a
 * {@link SimulatedShard} instead, skips the warm-up, and reports itself simulated in WorkerInfo.
 *
 * <p>NOTE: the server starts before the shard loads (not after), so the registration carries the real port even
 * when the configured one is 0, and Info answers while LOADING, as pipeline.proto promises.
 *
 * <p>Thread safety: {@link #close()} and {@link #kill()} may be called from any thread, once each has any effect.
 */
public final class Worker implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(Worker.class);

    /** How long {@link #close()} lets the current stream end and in-flight calls finish. */
    static final Duration CLOSE_GRACE = Duration.ofSeconds(2);

    /** NOTE: a crashed worker's node vanishes after this; Curator's default of 60 s keeps dead stages routable too long. */
    static final int ZK_SESSION_TIMEOUT_MS = 15_000;

    /** Callers may send keepalive pings this often (grpc-java's server default is every 5 minutes at most). */
    public static final int PERMITTED_KEEPALIVE_SECONDS = 5;

    private final WorkerConfig config;
    private CuratorFramework curator;
    private LayerRange layers;
    private Checkpoint checkpoint;
    private Backend backend;
    /** Completes with the reason once the backend's device is lost and this worker has stopped. */
    private final CompletableFuture<String> lost = new CompletableFuture<>();
    private final AtomicBoolean losing = new AtomicBoolean();
    /** Counted down once a stop, by close() or stopNow(), has done all it does. */
    private final CountDownLatch finished = new CountDownLatch(1);
    private StageModel shard;
    private StageService service;
    private HealthStatusManager health;
    private Server server;
    private volatile int port;
    private WorkerRegistration registration;
    private boolean stopped;   // guarded by this

    private Worker(WorkerConfig config) { this.config = config; }

    /**
     * Starts a worker and returns once it is READY.
     *
     * @throws IllegalArgumentException for a configuration that cannot work (a layer range past the model's layers)
     * @throws IllegalStateException    when something it waits for does not come (ZooKeeper, the layer znode)
     * @throws IOException              when the checkpoint cannot be read or the address cannot be bound
     */
    public static Worker start(WorkerConfig config) throws IOException, InterruptedException {
        Worker worker = new Worker(config);
        try {
            worker.boot();
            return worker;
        } catch (IOException | InterruptedException | RuntimeException | Error e) {
            worker.stopNow();
            log.debug("worker {} did not start: {}", config.workerId(), e.toString());
            throw e;
        }
    }

    private void boot() throws IOException, InterruptedException {
        String id = config.workerId();
        if (config.zkConnect() != null) curator = connect(config);
        layers = config.layers() != null ? config.layers() : awaitLayers();
        Path dir = config.modelDir();
        Simulation sim = config.simulation();
        SimModel simModel = sim == null ? null : SimModel.resolve(dir, sim.preset());
        ModelConfig model = sim == null ? ModelConfig.load(dir) : simModel.config();
        String where = dir != null ? " of the model in " + dir : " of the simulated " + simModel.name();
        if (layers.last() > model.numLayers())
            throw new IllegalArgumentException("worker " + id + ": layer range " + layers + " exceeds the "
                    + model.numLayers() + " layers" + where);
        if (sim == null) checkpoint = Checkpoint.open(dir);
        // NOTE: a device backend is made before the KV pool is sized, since the pool takes what the weights leave
        // free on the device. Others are made after registering LOADING, so that a slow start shows as LOADING.
        if (sim == null && config.kvBlocks() == 0 && config.backendDescription().startsWith("cuda"))
            backend = config.backend().get();
        int kvBlocks = kvBlocks(model);
        ShardSpec spec = new ShardSpec(layers.first(), layers.last(), kvBlocks, config.kvBlockSize());
        StageIdentity identity;
        if (sim == null) {
            identity = StageIdentity.of(id, modelName(dir), ModelFingerprint.of(dir, checkpoint), model, spec,
                    maxContextTokens(dir, model), config.maxBatchTokens(), config.backendDescription());
        } else {
            // NOTE: a simulated stage's hidden states are a small fixed payload per token (SimulatedShard), not the
            // model's residual stream; its identity says so, so the wire checks apply to the payload's width.
            identity = StageIdentity.of(id, simModel.name(), simModel.fingerprint(), model, spec, simModel.maxContextTokens(),
                    config.maxBatchTokens(), Simulation.DEVICE).simulated(SimulatedShard.PAYLOAD_WIDTH, sim.latency().describe());
        }
        service = new StageService(identity, StageChannels.plaintext());
        service.compute().onBackendLost(this::deviceLost);
        health = new HealthStatusManager();
        setHealth(ServingStatus.NOT_SERVING);
        server = listen(identity);
        port = server.getPort();
        service.listening(config.host(), port);
        if (curator != null) {
            registration = register(service.info());
            service.fence().watch(curator, config.zkLayout());
        }
        log.info("worker {} loading {} layers {} from {} ({} KV blocks of {} tokens) on {}", id, identity.model(), layers,
                dir != null ? dir : "preset " + simModel.name(), kvBlocks, config.kvBlockSize(), identity.device());
        long loadStart = System.nanoTime();
        String backendName;
        if (sim == null) {
            if (backend == null) backend = config.backend().get();
            shard = ModelShard.load(checkpoint, model, spec, backend);
            backendName = backend.name();
        } else {
            shard = new SimulatedShard(model, spec, sim.latency());
            backendName = "sim";
            log.info("worker {} is SIMULATED: no weights, no model math; {}", id, sim.latency().describe());
        }
        // NOTE: a simulated stage has no first-use costs to pay, and zeros are not a payload it would be sent.
        if (sim == null) warmUp(shard);
        service.ready(shard, backendName);
        setHealth(ServingStatus.SERVING);
        updateRegistration();
        log.info("worker {} ready on {} in {} ms", id, address(), TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - loadStart));
    }

    /**
     * The KV pool's blocks: {@code --kv-blocks} when given; else, on a CUDA device, what this worker's share of the
     * device ({@link CudaBackend#memoryShare()}) holds once its shard's weights are loaded, leaving a tenth of that
     * share for activations and workspaces, and never more than the device has free; else the host budget of
     * {@link WorkerConfig#kvBlocksFor}.
     *
     * <p>NOTE: by share, not by free memory alone: workers that start together on one GPU each see it all free, and
     * would each claim it.
     */
    private int kvBlocks(ModelConfig model) {
        if (!(backend instanceof CudaBackend device))
            return config.kvBlocksFor(layers.count(), model.numKvHeads(), model.headDim());
        long perBlock = CudaBackend.kvBytesPerBlock(layers.count(), config.kvBlockSize(), model.numKvHeads(), model.headDim());
        long weights = ModelShard.weightBytes(checkpoint, model, layers.first(), layers.last());
        Cuda.MemoryInfo now = device.memoryInfo();
        int blocks = deviceKvBlocks(now, device.memoryShare(), weights, perBlock);
        if (blocks < 1)
            throw new IllegalArgumentException("worker " + config.workerId() + ": " + Math.round(device.memoryShare() * 100)
                    + "% of " + device.name() + " (" + (now.totalBytes() >> 20) + " MB, " + (now.freeBytes() >> 20)
                    + " MB free) leaves no room for a KV block of " + perBlock + " bytes after " + (weights >> 20)
                    + " MB of weights for layers " + layers + "; hold fewer layers, or give it a larger --gpu-memory-share");
        log.info("worker {}: {}% of {} ({} MB free), {} MB of weights to load: {} KV blocks of {} tokens", config.workerId(),
                Math.round(device.memoryShare() * 100), device.name(), now.freeBytes() >> 20, weights >> 20, blocks,
                config.kvBlockSize());
        return blocks;
    }

    /**
     * KV blocks that fit in {@code share} of a device, and in what it has free, after {@code weights} bytes of weights
     * and a tenth of the share; weights are counted as stored plus 2% (vectors and biases are float32 on the device,
     * twice their bf16 bytes, and well under 1% of a layer).
     */
    public static int deviceKvBlocks(Cuda.MemoryInfo now, double share, long weights, long perBlock) {
        long own = (long) (share * now.totalBytes());
        long usable = Math.min(own, now.freeBytes()) - weights - weights / 50 - own / 10;
        return (int) Math.min(Integer.MAX_VALUE, Math.max(0, usable / perBlock));
    }

    /**
     * The backend's device is lost (a fault left its CUDA context unusable): this worker leaves the cluster at once, as
     * a crashed one would (the coordinator moves its requests to other replicas), and {@link #lost()} completes with
     * the reason so that the process can exit and be restarted. Called from the compute thread; returns at once.
     */
    private void deviceLost(String reason) {
        if (!losing.compareAndSet(false, true)) return;
        log.error("worker {}: its device is lost ({}); leaving the cluster, restart the process", config.workerId(), reason);
        // NOTE: lost() completes after kill() has returned, on this thread of its own: whoever waits for it (the worker
        // command exits, and its shutdown hook closes the worker) then finds the worker already stopped, and nothing
        // that depends on it runs on the compute thread.
        Thread.ofPlatform().name("tessera-worker-lost").start(() -> {
            kill();
            lost.complete(reason);
        });
    }

    /** Completes, with the reason, once the backend's device is lost and the worker has stopped. */
    public CompletionStage<String> lost() { return lost.minimalCompletionStage(); }

    /** This worker as Info reports it now. */
    public WorkerInfo info() { return service.info(); }

    /** The Stage service's address, "host:port" (IPv6 hosts in brackets). */
    public String address() {
        String host = config.host();
        return (host.contains(":") && !host.startsWith("[") ? "[" + host + "]" : host) + ":" + port();
    }

    /** The bound TCP port (still answered once stopped). */
    public int port() { return port; }

    public String id() { return config.workerId(); }

    public LayerRange layers() { return layers; }

    /**
     * Drains, then stops: DRAINING (registration, health NOT_SERVING, new streams refused), up to
     * {@link #CLOSE_GRACE} for the current stream to end, then deregisters, closes the current stream with
     * UNAVAILABLE, shuts the server down (grace, then now), closes the ZooKeeper client and releases the shard.
     */
    @Override
    public void close() {
        boolean already;
        synchronized (this) {
            already = stopped;
            stopped = true;
        }
        if (already) {
            // NOTE: a stop already under way (kill() after a lost device, say) finishes before close() returns, so that
            // a shutdown hook calling close() does not let the JVM halt half-way through it. Waited for outside the
            // monitor: the other stop may need it.
            awaitQuietly(finished, CLOSE_GRACE.multipliedBy(3));
            return;
        }
        // NOTE: with ZooKeeper unreachable, registry writes would block through Curator's retries; skip them: the
        // ephemeral node goes when the session does (at curator.close(), or its timeout), which is the same outcome.
        boolean zkUp = curator != null && curator.getZookeeperClient().isConnected();
        if (curator != null && !zkUp) log.warn("worker {}: ZooKeeper is unreachable; not updating the registry on the way out", config.workerId());
        if (service != null && service.state() == WorkerState.WORKER_STATE_READY) {
            service.drain();
            setHealth(ServingStatus.NOT_SERVING);
            if (zkUp) quietly("register as DRAINING", this::updateRegistration);
            quietly("wait for the current stream to end", () -> service.awaitIdle(CLOSE_GRACE));
        }
        if (zkUp) quietly("deregister", () -> { if (registration != null) registration.close(); });
        quietly("stop the server", () -> { if (server != null) server.shutdown(); });
        quietly("close the stage", () -> { if (service != null) service.close(); });
        quietly("stop the server", () -> {
            if (server != null && !server.awaitTermination(CLOSE_GRACE.toMillis(), TimeUnit.MILLISECONDS))
                server.shutdownNow().awaitTermination(CLOSE_GRACE.toMillis(), TimeUnit.MILLISECONDS);
        });
        quietly("stop health", () -> { if (health != null) health.enterTerminalState(); });
        quietly("close the ZooKeeper client", () -> { if (curator != null) curator.close(); });
        release();
        finished.countDown();
        log.info("worker {} stopped", config.workerId());
    }

    private static void awaitQuietly(CountDownLatch latch, Duration timeout) {
        try {
            latch.await(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * Stops abruptly, as a crashed process would: the server is shut down now, and the ZooKeeper session is closed
     * without deregistering (the ephemeral node goes with the session). For tests of failure handling.
     */
    public void kill() {
        if (stopNow()) log.info("worker {} killed", config.workerId());
    }

    /** Stops at once without deregistering; false when already stopped. */
    private boolean stopNow() {
        synchronized (this) {
            if (stopped) return false;
            stopped = true;
        }
        quietly("kill the server", () -> { if (server != null) server.shutdownNow(); });
        quietly("close the stage", () -> { if (service != null) service.close(); });
        quietly("close the ZooKeeper client", () -> { if (curator != null) curator.close(); });
        release();
        finished.countDown();
        return true;
    }

    private void release() {
        // NOTE: StageService.close() stopped the compute thread, unless a step outlived its timeout: then the shard's
        // tensors stay mapped rather than pulled from under it.
        if (service != null && !service.computeStopped()) {
            log.warn("worker {}: a step is still running; leaving the checkpoint mapped", config.workerId());
            return;
        }
        quietly("release the shard", () -> { if (shard != null) shard.close(); });
        quietly("release the backend", () -> { if (backend != null) backend.close(); });
        quietly("close the checkpoint", () -> { if (checkpoint != null) checkpoint.close(); });
    }

    private static CuratorFramework connect(WorkerConfig config) throws InterruptedException {
        CuratorFramework client = CuratorFrameworkFactory.builder().connectString(config.zkConnect())
                .sessionTimeoutMs(ZK_SESSION_TIMEOUT_MS).retryPolicy(new ExponentialBackoffRetry(200, 10)).build();
        client.start();
        if (!client.blockUntilConnected((int) config.startTimeout().toMillis(), TimeUnit.MILLISECONDS)) {
            client.close();
            throw new IllegalStateException("worker " + config.workerId() + " cannot reach ZooKeeper at " + config.zkConnect()
                    + " within " + describe(config.startTimeout()) + "; is it running? (--zookeeper)");
        }
        return client;
    }

    private LayerRange awaitLayers() throws InterruptedException {
        try {
            return LayerAssignment.await(curator, config.zkLayout(), config.workerId(), config.startTimeout());
        } catch (InterruptedException | RuntimeException e) {
            throw e;
        } catch (Exception e) {
            throw new IllegalStateException("worker " + config.workerId() + " cannot read its layer range from ZooKeeper: " + e, e);
        }
    }

    private Server listen(StageIdentity identity) throws IOException {
        // NOTE: a full step's hidden states ([max_batch_tokens, hidden] float32) must fit in one message, plus its ids.
        long maxMessage = (long) identity.maxBatchTokens() * identity.hiddenSize() * Float.BYTES + (16L << 20);
        try {
            return NettyServerBuilder.forAddress(new InetSocketAddress(config.host(), config.port()))
                    .addService(service).addService(health.getHealthService())
                    .maxInboundMessageSize((int) Math.min(maxMessage, Integer.MAX_VALUE))
                    // NOTE: callers (the coordinator, the previous stage) ping to detect a lost peer; allow it.
                    .permitKeepAliveTime(PERMITTED_KEEPALIVE_SECONDS, TimeUnit.SECONDS).permitKeepAliveWithoutCalls(true)
                    .build().start();
        } catch (IOException e) {
            throw new IOException("worker " + config.workerId() + " cannot listen on " + config.host() + ":" + config.port()
                    + ": " + (e.getCause() != null ? e.getCause().getMessage() : e.getMessage()), e);
        }
    }

    private WorkerRegistration register(WorkerInfo info) {
        try {
            return WorkerRegistration.register(curator, config.zkLayout(), info);
        } catch (Exception e) {
            throw new IllegalStateException("worker " + config.workerId() + " cannot register under "
                    + config.zkLayout().workersPath() + " in ZooKeeper: " + e, e);
        }
    }

    private void updateRegistration() {
        if (registration == null) return;
        try {
            registration.update(service.info());
        } catch (Exception e) {
            throw new IllegalStateException("worker " + config.workerId() + " cannot update its registration: " + e, e);
        }
    }

    private void setHealth(ServingStatus status) {
        health.setStatus(HealthStatusManager.SERVICE_NAME_ALL_SERVICES, status);
        health.setStatus(StageGrpc.SERVICE_NAME, status);
    }

    /**
     * Runs one token through the shard so that the first real step does not pay for first-use costs.
     * NOTE: it writes the KV of position 0 in block 0; a sequence given block 0 overwrites it before reading it.
     */
    private static void warmUp(StageModel shard) {
        int h = shard.hiddenWidth();
        SequenceChunk one = new SequenceChunk(0, new int[] {0}, 0, new int[] {0}, true, SamplingParams.GREEDY);
        HiddenStates zeros = shard.isFirst() ? null : HiddenStates.of(new float[h], 1, h);
        try {
            shard.forward(new ShardStep(List.of(one), zeros, false, false));
            // and as serving steps without log-probabilities run: greedy choices may be made by the backend
            if (shard.isLast()) shard.forward(new ShardStep(List.of(one), zeros, false, false, false));
        } catch (BackendLostException e) {
            throw e;  // the device, not the model: the command exits as for a device lost while serving
        } catch (RuntimeException e) {
            throw new IllegalStateException("the warm-up step failed on layers " + shard.spec().firstLayer() + ".."
                    + shard.spec().lastLayer() + ": " + e.getMessage(), e);
        }
    }

    /** The model's name: its directory's name (e.g. "gpt-oss-120b"). */
    private static String modelName(Path dir) {
        Path name = dir.toAbsolutePath().normalize().getFileName();
        return name == null ? dir.toString() : name.toString();
    }

    /** config.json's max_position_embeddings; without one, what YaRN stretches the original context to. */
    private static int maxContextTokens(Path dir, ModelConfig model) throws IOException {
        JsonNode root = new ObjectMapper().readTree(dir.resolve("config.json").toFile());
        JsonNode max = root.get("max_position_embeddings");
        if (max != null && max.canConvertToInt() && max.intValue() > 0) return max.intValue();
        return (int) Math.min(Integer.MAX_VALUE, (long) (model.rope().originalMaxPositions() * model.rope().factor()));
    }

    static String describe(Duration d) {
        return d.toMillis() < 10_000 ? d.toMillis() + " ms" : d.toSeconds() + " s";
    }

    private interface Step {
        void run() throws Exception;
    }

    private void quietly(String what, Step step) {
        try {
            step.run();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (Exception e) {
            log.warn("worker {}: could not {}: {}", config.workerId(), what, e.toString());
        }
    }
}
