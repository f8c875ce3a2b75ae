package dev.tessera.deploy.cli;

import dev.tessera.coordinator.cluster.EpochFence;
import dev.tessera.coordinator.cluster.Membership;
import dev.tessera.coordinator.cluster.Replica;
import dev.tessera.coordinator.cluster.ReplicaPlan;
import dev.tessera.proto.v1.CoordinatorInfo;
import dev.tessera.proto.v1.WorkerInfo;
import dev.tessera.proto.zk.ZkLayout;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.retry.RetryNTimes;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** What a cluster looks like in ZooKeeper, and its layer-range configuration. */
@Command(name = "cluster", mixinStandardHelpOptions = true, description = "Inspect and configure a cluster through ZooKeeper.",
        subcommands = {StatusCommand.Status.class, StatusCommand.SetLayers.class})
public final class StatusCommand {

    /** Connection flags shared by the subcommands. */
    static final class Zk {
        @Option(names = "--zookeeper", defaultValue = "127.0.0.1:2181", paramLabel = "CONNECT",
                description = "ZooKeeper connect string. Default: ${DEFAULT-VALUE}.")
        String connect;

        @Option(names = "--zk-root", defaultValue = "/tessera", description = "The cluster's root znode. Default: ${DEFAULT-VALUE}.")
        String root;

        CuratorFramework open() throws InterruptedException {
            CuratorFramework c = CuratorFrameworkFactory.newClient(connect, 10_000, 5_000, new RetryNTimes(2, 500));
            c.start();
            if (!c.blockUntilConnected(10, TimeUnit.SECONDS)) {
                c.close();
                throw new IllegalStateException("cannot reach ZooKeeper at " + connect + "; is the cluster up?");
            }
            return c;
        }
    }

    @Command(name = "status", mixinStandardHelpOptions = true,
            description = "Print the leader and its epoch, every registered worker, the replicas they form and what keeps others from forming.")
    static final class Status implements Callable<Integer> {
        @picocli.CommandLine.Mixin Zk zk;

        @Override
        public Integer call() throws Exception {
            ZkLayout layout = new ZkLayout(zk.root);
            try (CuratorFramework client = zk.open(); Membership membership = new Membership(client, layout, Duration.ofSeconds(10))) {
                membership.start();
                EpochFence fence = new EpochFence(client, layout);
                Optional<CoordinatorInfo> leader = fence.leader();
                System.out.println("leader: " + leader.map(l -> l.getCoordinatorId() + " serving on " + l.getAddress()
                        + ", epoch " + l.getEpoch()).orElse("none") + " (newest epoch " + fence.current() + ")");
                List<WorkerInfo> workers = membership.workers();
                System.out.println("workers: " + workers.size());
                for (WorkerInfo w : workers)
                    System.out.printf(java.util.Locale.ROOT, "  %-24s %-21s layers [%d,%d) of %d  %-8s %s, %d KV blocks of %d, fingerprint %s%s%n",
                            w.getWorkerId(), w.getHost() + ":" + w.getPort(), w.getFirstLayer(), w.getLastLayer(), w.getNumLayers(),
                            w.getState().name().replace("WORKER_STATE_", ""), w.getModel(), w.getKvCapacityBlocks(),
                            w.getKvBlockSize(), w.getModelFingerprint(), w.getSimulated() ? "  SIMULATED" : "");
                List<String> latencies = workers.stream().filter(WorkerInfo::getSimulated).map(WorkerInfo::getLatencyModel).distinct().toList();
                long simulated = workers.stream().filter(WorkerInfo::getSimulated).count();
                if (simulated > 0)
                    System.out.println("SIMULATED: " + simulated + " of " + workers.size() + " workers do no model math ("
                            + String.join("; ", latencies) + ")");
                ReplicaPlan plan = ReplicaPlan.assemble(workers);
                System.out.println("replicas: " + plan.replicas().size());
                for (Replica r : plan.replicas())
                    System.out.println("  " + r + (r.stages().stream().anyMatch(WorkerInfo::getSimulated) ? "  SIMULATED" : ""));
                for (String p : plan.problems()) System.out.println("  not a replica: " + p);
                return 0;
            }
        }
    }

    @Command(name = "set-layers", mixinStandardHelpOptions = true,
            description = {"Store the layer range of a worker started without --layers (it reads "
                    + "{root}/config/layers/{worker id} at start-up and waits for it)."})
    static final class SetLayers implements Callable<Integer> {
        @picocli.CommandLine.Mixin Zk zk;

        @Parameters(index = "0", paramLabel = "WORKER_ID", description = "The worker's --id.") String workerId;

        @Parameters(index = "1", paramLabel = "FIRST:LAST", description = "Its layers, e.g. 0:18.") String layers;

        @Override
        public Integer call() throws Exception {
            dev.tessera.worker.serve.LayerRange range = dev.tessera.worker.serve.LayerRange.parse(layers);
            String path = new ZkLayout(zk.root).layerConfigPath(workerId);
            byte[] data = (range.first() + "," + range.last()).getBytes(StandardCharsets.US_ASCII);
            try (CuratorFramework client = zk.open()) {
                if (client.checkExists().forPath(path) == null) client.create().creatingParentsIfNeeded().forPath(path, data);
                else client.setData().forPath(path, data);
            }
            System.out.println(path + " = " + range.first() + "," + range.last());
            return 0;
        }
    }
}
