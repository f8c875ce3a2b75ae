package dev.tessera.deploy.cli;

import dev.tessera.deploy.LocalCluster;
import dev.tessera.worker.checkpoint.SyntheticCheckpoint;
import dev.tessera.worker.sim.Simulation;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * The embedded default: ZooKeeper's own embedded server, a coordinator and the workers of each replica, in one
 * process, over real gRPC and ZooKeeper on loopback. Runs until Ctrl-C or SIGTERM, then stops everything.
 */
@Command(name = "up", mixinStandardHelpOptions = true,
        description = {"Start Tessera on its embedded default: ZooKeeper, a coordinator and the workers, in one process.",
                "Without --model it serves the synthetic demo model (written once under $TESSERA_HOME/models, then "
                        + "reused), split over two workers; with --backend sim, simulated workers of --sim-preset's shape "
                        + "(no weights, no math), e.g. --backend sim --stages 4 --replicas 16 for 64 workers. Prints a "
                        + "line starting with 'tessera ready' once every replica serves; stops cleanly on Ctrl-C or SIGTERM."})
public final class UpCommand implements Callable<Integer> {

    @Option(names = "--model", description = "Checkpoint directory (default: the synthetic demo model; with --backend sim, "
            + "the --sim-preset shape, and a given directory needs only its config.json).")
    Path model;

    @Option(names = "--stages", defaultValue = "2", description = "Workers (pipeline stages) per replica. Default: ${DEFAULT-VALUE}.")
    int stages;

    @Option(names = "--replicas", defaultValue = "1", description = "Replicas. Default: ${DEFAULT-VALUE}.")
    int replicas;

    @Option(names = "--host", defaultValue = "127.0.0.1",
            description = "Address every server binds. Default: ${DEFAULT-VALUE} (this machine only).")
    String host;

    @Option(names = "--port", defaultValue = "50051", description = "The coordinator's gRPC port. Default: ${DEFAULT-VALUE}.")
    int port;

    @Option(names = "--zk-port", defaultValue = "2181", description = "The embedded ZooKeeper's port. Default: ${DEFAULT-VALUE}.")
    int zkPort;

    @Option(names = "--kv-blocks", defaultValue = "0",
            description = "KV blocks per worker; 0 sizes the pool from a 256 MiB budget. Default: ${DEFAULT-VALUE}.")
    int kvBlocks;

    @Option(names = "--kv-block-size", defaultValue = "16", description = "Tokens per KV block. Default: ${DEFAULT-VALUE}.")
    int kvBlockSize;

    @Mixin
    BackendOptions backend;

    @Mixin
    HttpOptions http;

    @Override
    public Integer call() throws Exception {
        Simulation simulation = backend.simulation(model);
        Path dir;
        if (simulation != null) {
            dir = model;
            System.out.println("model: SIMULATED " + (model != null ? "shape of " + model + "/config.json" : simulation.preset()
                    + " shape") + ", no weights: every worker only waits as " + simulation.latency().describe()
                    + " and yields deterministic stand-in tokens");
        } else {
            dir = model != null ? model
                    : Models.ensureSynthetic(Models.directory().resolve("demo"), SyntheticCheckpoint.preset("demo"), System.err);
            if (model == null) System.out.println("model: synthetic demo checkpoint at " + dir + " (random weights: its tokens are not language)");
        }
        LocalCluster.Options options = new LocalCluster.Options(dir, stages, replicas, host, port, zkPort,
                simulation == null ? backend.factory(stages * replicas) : null, backend.describe(), kvBlocks, kvBlockSize,
                dev.tessera.coordinator.engine.ReplicaSet.Limits.DEFAULT, 1, http.gateway(host), simulation);
        long start = System.nanoTime();
        LocalCluster cluster = LocalCluster.start(options, System.out);
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            System.out.println("tessera: stopping");
            cluster.close();
            System.out.println("tessera: stopped");
            stopped.countDown();
        }, "tessera-stop"));
        int httpPort = cluster.coordinators().getFirst().httpPort();
        System.out.printf(java.util.Locale.ROOT, "tessera ready: gRPC on %s,%s ZooKeeper on %s, %d replica(s) x %d stage(s) on %s (%.1f s)%n",
                cluster.address(), httpPort < 0 ? "" : " OpenAI API on http://" + host + ":" + httpPort + "/v1,",
                cluster.zkConnect(), replicas, stages, backend.describe(), (System.nanoTime() - start) / 1e9);
        if (simulation != null)
            System.out.println("SIMULATED: " + replicas * stages + " workers do no model math; tokens and timings are "
                    + "stand-ins (" + simulation.latency().describe() + "); report anything measured here as simulated");
        System.out.println("try: ./tessera generate --token-ids 200006,1428,200008 --temperature 0 --max-tokens 16"
                + (port == 50051 ? "" : " --port " + port));
        System.out.flush();
        stopped.await();
        return 0;
    }
}
