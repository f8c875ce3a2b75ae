package dev.tessera.deploy.cli;

import dev.tessera.coordinator.Coordinator;
import dev.tessera.coordinator.CoordinatorConfig;
import dev.tessera.coordinator.engine.ReplicaSet;
import dev.tessera.proto.zk.ZkLayout;
import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** The coordinator role: joins the leader election, serves the Inference API, schedules while it leads. */
@Command(name = "coordinator", mixinStandardHelpOptions = true,
        description = {"Run a coordinator. The first to start leads; the others are hot standbys that take over when "
                + "the leader's ZooKeeper session ends. Runs until Ctrl-C or SIGTERM."})
public final class CoordinatorCommand implements Callable<Integer> {

    @Option(names = "--zookeeper", defaultValue = "127.0.0.1:2181", paramLabel = "CONNECT",
            description = "ZooKeeper connect string. Default: ${DEFAULT-VALUE}.")
    String zookeeper;

    @Option(names = "--zk-root", defaultValue = "/tessera", description = "The cluster's root znode. Default: ${DEFAULT-VALUE}.")
    String zkRoot;

    @Option(names = "--host", defaultValue = "127.0.0.1",
            description = "Address to bind and advertise to clients. Default: ${DEFAULT-VALUE}.")
    String host;

    @Option(names = "--port", defaultValue = "50051", description = "gRPC port of the Inference API. Default: ${DEFAULT-VALUE}.")
    int port;

    @Option(names = "--id", description = "Coordinator id, unique in the cluster. Default: HOST:PORT.")
    String id;

    @Option(names = "--max-batch-tokens", defaultValue = "512",
            description = "Token budget of one step per replica (capped by the workers' own limit). Default: ${DEFAULT-VALUE}.")
    int maxBatchTokens;

    @Option(names = "--max-running", defaultValue = "256", description = "Most sequences running per replica. Default: ${DEFAULT-VALUE}.")
    int maxRunning;

    @Option(names = "--max-waiting", defaultValue = "1024", description = "Most sequences waiting per replica. Default: ${DEFAULT-VALUE}.")
    int maxWaiting;

    @Option(names = "--max-requests", defaultValue = "4096",
            description = "Most unfinished requests; more get RESOURCE_EXHAUSTED. Default: ${DEFAULT-VALUE}.")
    int maxRequests;

    @Option(names = "--step-timeout", defaultValue = "120", description = "Seconds a pipeline step may take before its "
            + "replica is given up and its requests move elsewhere. Default: ${DEFAULT-VALUE}.")
    int stepTimeout;

    @Option(names = "--session-timeout", defaultValue = "10", description = "ZooKeeper session timeout, seconds: how long a "
            + "silent leader keeps leading. Default: ${DEFAULT-VALUE}.")
    int sessionTimeout;

    @picocli.CommandLine.Mixin
    HttpOptions http;

    @Override
    public Integer call() throws Exception {
        CoordinatorConfig config = new CoordinatorConfig(id, host, port, zookeeper, new ZkLayout(zkRoot),
                new ReplicaSet.Limits(maxBatchTokens, maxRunning, maxWaiting, 16, Duration.ofSeconds(stepTimeout)), maxRequests,
                Duration.ofSeconds(sessionTimeout), Duration.ofSeconds(30), http.gateway(host));
        Coordinator coordinator = Coordinator.start(config);
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            coordinator.close();
            stopped.countDown();
        }, "coordinator-stop"));
        // The election takes a moment; say which role it took if it is settled within a second.
        for (int i = 0; i < 50 && !coordinator.isLeader(); i++) Thread.sleep(20);
        System.out.println("coordinator ready on " + coordinator.address()
                + (coordinator.httpPort() < 0 ? "" : ", HTTP on " + host + ":" + coordinator.httpPort()) + " ("
                + (coordinator.isLeader() ? "leader, epoch " + coordinator.epoch() : "standby") + ")");
        System.out.flush();
        stopped.await();
        return 0;
    }
}
