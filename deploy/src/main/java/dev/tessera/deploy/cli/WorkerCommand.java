package dev.tessera.deploy.cli;

import dev.tessera.proto.v1.WorkerInfo;
import dev.tessera.proto.zk.ZkLayout;
import dev.tessera.worker.serve.LayerRange;
import dev.tessera.worker.serve.Worker;
import dev.tessera.worker.serve.WorkerConfig;
import dev.tessera.worker.sim.Simulation;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * The worker role of a real deployment: one process serving one shard of a model as a pipeline stage, registered in
 * ZooKeeper. It prints one line once READY and runs until SIGTERM or Ctrl-C, which drain and stop it.
 */
@Command(name = "worker", mixinStandardHelpOptions = true,
        description = {"Serve a range of a model's layers as one pipeline stage, registered in ZooKeeper.",
                "Prints 'worker ID ready on HOST:PORT, layers [A,B), N KV blocks' once it serves (followed by "
                        + "', SIMULATED (...)' with --backend sim); SIGTERM or Ctrl-C drains it (DRAINING in ZooKeeper) "
                        + "and stops it."})
public final class WorkerCommand implements Callable<Integer> {

    @Option(names = "--model", description = "Checkpoint directory in the Hugging Face layout. Required, except with "
            + "--backend sim (which reads only its config.json, and without it simulates --sim-preset).")
    Path model;

    @Option(names = "--layers", paramLabel = "FIRST:LAST",
            description = "Layers to hold, half-open (e.g. 0:18). Default: read \"first,last\" from ZooKeeper at "
                    + "ROOT/config/layers/ID, waiting up to 30 s.")
    String layers;

    @Option(names = "--id", description = "Worker id, unique in the cluster and stable across restarts. Default: HOST:PORT.")
    String id;

    @Option(names = "--host", defaultValue = WorkerConfig.DEFAULT_HOST,
            description = "Address to listen on and to advertise. Default: ${DEFAULT-VALUE}.")
    String host;

    @Option(names = "--port", defaultValue = "50061", description = "Port of the Stage service; 0 takes a free one "
            + "(then give --id). Default: ${DEFAULT-VALUE}.")
    int port;

    @Option(names = "--zookeeper", defaultValue = "127.0.0.1:2181", paramLabel = "CONNECT",
            description = "ZooKeeper connect string; 'none' runs unregistered (needs --layers). Default: ${DEFAULT-VALUE}.")
    String zookeeper;

    @Option(names = "--zk-root", defaultValue = "/tessera", description = "The cluster's root znode. Default: ${DEFAULT-VALUE}.")
    String zkRoot;

    @Option(names = "--kv-blocks", defaultValue = "0",
            description = "KV blocks in the pool; 0 sizes it to 256 MiB. Default: ${DEFAULT-VALUE}.")
    int kvBlocks;

    @Option(names = "--kv-block-size", defaultValue = "16", description = "Tokens per KV block. Default: ${DEFAULT-VALUE}.")
    int kvBlockSize;

    @Option(names = "--max-batch-tokens", defaultValue = "2048",
            description = "Most tokens accepted in one step. Default: ${DEFAULT-VALUE}.")
    int maxBatchTokens;

    @Mixin
    BackendOptions backend;

    @Override
    public Integer call() throws Exception {
        if (id == null && port == 0)
            throw new IllegalArgumentException("give --id with --port 0: a worker's id must stay the same across restarts");
        Simulation simulation = backend.simulation(model);
        if (model == null && simulation == null)
            throw new IllegalArgumentException("--model is required (only --backend sim runs without a checkpoint)");
        String workerId = id != null ? id : host + ":" + port;
        String connect = zookeeper.equalsIgnoreCase("none") ? null : zookeeper;
        WorkerConfig config = new WorkerConfig(workerId, host, port, model, layers == null ? null : LayerRange.parse(layers),
                kvBlocks, WorkerConfig.DEFAULT_KV_MEMORY_BYTES, kvBlockSize, maxBatchTokens,
                simulation == null ? backend.factory() : null, backend.describe(), connect, new ZkLayout(zkRoot),
                WorkerConfig.DEFAULT_START_TIMEOUT, simulation);
        Worker worker = Worker.start(config);
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            worker.close();
            stopped.countDown();
        }, "tessera-worker-shutdown"));
        WorkerInfo info = worker.info();
        System.out.printf("worker %s ready on %s, layers [%d,%d), %d KV blocks%s%n", info.getWorkerId(), worker.address(),
                info.getFirstLayer(), info.getLastLayer(), info.getKvCapacityBlocks(),
                info.getSimulated() ? ", SIMULATED (" + info.getModel() + ", " + info.getLatencyModel() + ")" : "");
        System.out.flush();
        String[] lostReason = {null};
        worker.lost().thenAccept(reason -> {
            lostReason[0] = reason;
            stopped.countDown();
        });
        stopped.await();
        if (lostReason[0] != null) {
            // NOTE: a non-zero status, so that a supervisor (systemd's Restart=on-failure) starts the worker again.
            System.err.println("worker: its device is lost, so it left the cluster: " + lostReason[0]);
            return 3;
        }
        return 0;
    }
}
