package dev.tessera.deploy;

import dev.tessera.coordinator.Coordinator;
import dev.tessera.coordinator.CoordinatorConfig;
import dev.tessera.coordinator.openai.GatewayConfig;
import dev.tessera.coordinator.engine.ReplicaSet;
import dev.tessera.proto.zk.ZkLayout;
import dev.tessera.worker.backend.Backend;
import dev.tessera.worker.engine.ShardSpec;
import dev.tessera.worker.model.ModelConfig;
import dev.tessera.worker.serve.LayerRange;
import dev.tessera.worker.serve.Worker;
import dev.tessera.worker.serve.WorkerConfig;
import dev.tessera.worker.sim.SimModel;
import dev.tessera.worker.sim.Simulation;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.Supplier;

/**
 * The embedded default: one process runs ZooKeeper's own embedded server, a coordinator and the workers of
 * {@code replicas} replicas, each replica's layers split evenly over {@code stages} workers. Everything talks over
 * real gRPC and a real ZooKeeper on loopback, exactly as separate processes would.
 */
public final class LocalCluster implements AutoCloseable {

    /**
     * @param modelDir       checkpoint directory
     * @param stages         workers per replica (pipeline stages)
     * @param replicas       replicas
     * @param host           address every server binds (127.0.0.1: this machine only)
     * @param grpcPort       the coordinator's Inference port (0: any)
     * @param zkPort         the embedded ZooKeeper's port (0: any)
     * @param backend        makes each worker's compute backend
     * @param backendName    the backend for humans
     * @param kvBlocks       KV blocks per worker (0: from the default memory budget)
     * @param kvBlockSize    tokens per block
     * @param limits         the coordinator's per-replica scheduling limits
     * @param coordinators   coordinator processes (one leader, the others standbys)
     * @param http           the first coordinator's OpenAI-compatible HTTP API (the others get any free port), or
     *                       null for none
     * @param simulation     null: the workers compute on {@code backend}; otherwise every worker is simulated (no
     *                       weights, no math; see {@link dev.tessera.worker.sim.SimulatedShard}), {@code backend} is
     *                       unused, and {@code modelDir} may be null (the simulation's preset shape is served)
     */
    public record Options(Path modelDir, int stages, int replicas, String host, int grpcPort, int zkPort,
                          Supplier<Backend> backend, String backendName, int kvBlocks, int kvBlockSize,
                          ReplicaSet.Limits limits, int coordinators, GatewayConfig http, Simulation simulation) {

        public Options {
            if (stages < 1) throw new IllegalArgumentException("--stages must be >= 1, got " + stages);
            if (replicas < 1) throw new IllegalArgumentException("--replicas must be >= 1, got " + replicas);
            if (coordinators < 1) throw new IllegalArgumentException("coordinators must be >= 1");
            if (modelDir == null && simulation == null) throw new IllegalArgumentException("a cluster that computes needs a checkpoint directory");
        }

        public static Options of(Path modelDir, int stages, Supplier<Backend> backend, String backendName) {
            return new Options(modelDir, stages, 1, "127.0.0.1", 0, 0, backend, backendName, 0,
                    WorkerConfig.DEFAULT_KV_BLOCK_SIZE, ReplicaSet.Limits.DEFAULT, 1, null, null);
        }

        /** Simulated workers of {@code modelDir}'s config.json (or, when null, of the simulation's preset shape). */
        public static Options simulated(Path modelDir, int stages, Simulation simulation) {
            return new Options(modelDir, stages, 1, "127.0.0.1", 0, 0, null, "sim", 0,
                    WorkerConfig.DEFAULT_KV_BLOCK_SIZE, ReplicaSet.Limits.DEFAULT, 1, null, java.util.Objects.requireNonNull(simulation));
        }

        public Options withPorts(int grpcPort, int zkPort) {
            return new Options(modelDir, stages, replicas, host, grpcPort, zkPort, backend, backendName, kvBlocks, kvBlockSize, limits, coordinators, http, simulation);
        }

        public Options withReplicas(int replicas) {
            return new Options(modelDir, stages, replicas, host, grpcPort, zkPort, backend, backendName, kvBlocks, kvBlockSize, limits, coordinators, http, simulation);
        }

        public Options withKv(int kvBlocks, int kvBlockSize) {
            return new Options(modelDir, stages, replicas, host, grpcPort, zkPort, backend, backendName, kvBlocks, kvBlockSize, limits, coordinators, http, simulation);
        }

        public Options withLimits(ReplicaSet.Limits limits) {
            return new Options(modelDir, stages, replicas, host, grpcPort, zkPort, backend, backendName, kvBlocks, kvBlockSize, limits, coordinators, http, simulation);
        }

        public Options withHttp(GatewayConfig http) {
            return new Options(modelDir, stages, replicas, host, grpcPort, zkPort, backend, backendName, kvBlocks, kvBlockSize, limits, coordinators, http, simulation);
        }

        public Options withSimulation(Simulation simulation) {
            return new Options(modelDir, stages, replicas, host, grpcPort, zkPort, backend, backendName, kvBlocks, kvBlockSize, limits, coordinators, http, simulation);
        }

        public Options withCoordinators(int coordinators) {
            return new Options(modelDir, stages, replicas, host, grpcPort, zkPort, backend, backendName, kvBlocks, kvBlockSize, limits, coordinators, http, simulation);
        }
    }

    private static final Duration READY_TIMEOUT = Duration.ofMinutes(5);

    private final Options options;
    private final EmbeddedZooKeeper zooKeeper;
    private final List<Worker> workers = Collections.synchronizedList(new ArrayList<>());
    private final List<Coordinator> coordinators = new ArrayList<>();

    private LocalCluster(Options options, EmbeddedZooKeeper zooKeeper) {
        this.options = options;
        this.zooKeeper = zooKeeper;
    }

    /** Starts everything and returns once every replica serves; progress lines go to {@code progress}. */
    public static LocalCluster start(Options o, PrintStream progress) throws Exception {
        ModelConfig model = o.simulation() == null ? ModelConfig.load(o.modelDir())
                : SimModel.resolve(o.modelDir(), o.simulation().preset()).config();
        if (o.stages() > model.numLayers())
            throw new IllegalArgumentException("--stages " + o.stages() + " is more than the model's " + model.numLayers() + " layers");
        // NOTE: every worker and coordinator here holds its own ZooKeeper session, all from one address: ZooKeeper's
        // default of 60 connections per address would refuse the 65th (16 replicas of 4 stages and a coordinator).
        EmbeddedZooKeeper zk = EmbeddedZooKeeper.builder().clientPortAddress(o.host()).clientPort(o.zkPort())
                .portFlag("--zk-port").maxClientConnections(0).build().start();
        LocalCluster cluster = new LocalCluster(o, zk);
        try {
            progress.println("zookeeper on " + zk.connectString());
            cluster.startWorkers(model, progress);
            for (int c = 0; c < o.coordinators(); c++) cluster.startCoordinator(c == 0 ? o.grpcPort() : 0, c == 0);
            cluster.awaitReady(o.replicas());
            return cluster;
        } catch (Exception | Error e) {
            cluster.close();
            throw e;
        }
    }

    private void startWorkers(ModelConfig model, PrintStream progress) throws Exception {
        ShardSpec[] split = ShardSpec.split(model.numLayers(), options.stages(), 1, 1);
        // NOTE: workers load in parallel: each maps the checkpoint and warms up on its own.
        ExecutorService starter = Executors.newFixedThreadPool(Math.min(8, options.stages() * options.replicas()));
        try {
            List<Future<Worker>> pending = new ArrayList<>();
            for (int r = 0; r < options.replicas(); r++) {
                for (int s = 0; s < options.stages(); s++) {
                    WorkerConfig wc = new WorkerConfig("worker-" + r + "-" + s, options.host(), 0, options.modelDir(),
                            new LayerRange(split[s].firstLayer(), split[s].lastLayer()), options.kvBlocks(),
                            WorkerConfig.DEFAULT_KV_MEMORY_BYTES, options.kvBlockSize(), WorkerConfig.DEFAULT_MAX_BATCH_TOKENS,
                            options.backend(), options.backendName(), zooKeeper.connectString(), ZkLayout.DEFAULT,
                            WorkerConfig.DEFAULT_START_TIMEOUT, options.simulation());
                    pending.add(starter.submit(() -> {
                        Worker w = Worker.start(wc);
                        workers.add(w);
                        progress.println("worker " + w.id() + " ready on " + w.address() + ", layers " + w.layers()
                                + ", " + w.info().getKvCapacityBlocks() + " KV blocks");
                        return w;
                    }));
                }
            }
            for (Future<Worker> f : pending) {
                try {
                    f.get();
                } catch (java.util.concurrent.ExecutionException e) {
                    throw e.getCause() instanceof Exception ex ? ex : e;
                }
            }
        } finally {
            starter.shutdownNow();
        }
    }

    /** Waits until some coordinator leads and serves {@code replicas} replicas, or fails saying what is missing. */
    private void awaitReady(int replicas) throws InterruptedException {
        long deadline = System.nanoTime() + READY_TIMEOUT.toNanos();
        while (System.nanoTime() < deadline) {
            Coordinator leader = leader();
            if (leader != null && leader.awaitReplicas(replicas, Duration.ofMillis(100))) return;
            Thread.sleep(20);
        }
        Coordinator any = coordinators.getFirst();
        throw new IllegalStateException("the cluster did not become ready within " + READY_TIMEOUT.toSeconds() + " s: "
                + (leader() == null ? "no coordinator leads" : String.join("; ", any.problems())));
    }

    /** Starts one more coordinator (a standby, unless none leads), with HTTP on any free port if the cluster has HTTP. */
    public Coordinator startCoordinator(int port) throws Exception {
        return startCoordinator(port, false);
    }

    private Coordinator startCoordinator(int port, boolean first) throws Exception {
        GatewayConfig http = options.http() == null || first ? options.http()
                : new GatewayConfig(options.http().host(), 0, options.http().apiKeys(), options.http().maxBodyBytes());
        CoordinatorConfig cc = CoordinatorConfig.of(zooKeeper.connectString()).withAddress(options.host(), port)
                .withLimits(options.limits(), 4096).withHttp(http);
        Coordinator c = Coordinator.start(cc);
        coordinators.add(c);
        return c;
    }

    public String zkConnect() { return zooKeeper.connectString(); }

    public List<Worker> workers() { return List.copyOf(workers); }

    public List<Coordinator> coordinators() { return List.copyOf(coordinators); }

    /** The coordinator that leads now, if any. */
    public Coordinator leader() {
        return coordinators.stream().filter(Coordinator::isLeader).findFirst().orElse(null);
    }

    /** The first coordinator's Inference address ("host:port"). */
    public String address() { return coordinators.getFirst().address(); }

    @Override
    public void close() {
        for (Coordinator c : coordinators) {
            try {
                c.close();
            } catch (RuntimeException e) {
                // keep closing the rest
            }
        }
        List<Worker> all = workers();
        all.parallelStream().forEach(w -> {
            try {
                w.close();
            } catch (RuntimeException e) {
                // keep closing the rest
            }
        });
        zooKeeper.close();
    }
}
