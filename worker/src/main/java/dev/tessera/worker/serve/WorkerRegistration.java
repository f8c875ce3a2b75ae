package dev.tessera.worker.serve;

import dev.tessera.proto.v1.WorkerInfo;
import dev.tessera.proto.zk.WorkerInstanceSerializer;
import dev.tessera.proto.zk.ZkLayout;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.x.discovery.ServiceDiscovery;
import org.apache.curator.x.discovery.ServiceDiscoveryBuilder;

/**
 * A worker's node in the registry: a Curator ServiceDiscovery instance under {@link ZkLayout#workersPath()}, an
 * ephemeral znode ({@code ServiceType.DYNAMIC}) whose payload is the worker's {@link WorkerInfo}. It vanishes with the
 * worker's ZooKeeper session; Curator registers it again after a reconnect.
 *
 * <p>Thread safety: as Curator's ServiceDiscovery (safe for concurrent use).
 */
final class WorkerRegistration implements AutoCloseable {

    private final ServiceDiscovery<WorkerInfo> discovery;

    private WorkerRegistration(ServiceDiscovery<WorkerInfo> discovery) { this.discovery = discovery; }

    /** Registers {@code info} (its worker id is the instance id). */
    static WorkerRegistration register(CuratorFramework client, ZkLayout layout, WorkerInfo info) throws Exception {
        ServiceDiscovery<WorkerInfo> discovery = ServiceDiscoveryBuilder.builder(WorkerInfo.class)
                .client(client).basePath(layout.workersPath()).serializer(new WorkerInstanceSerializer()).build();
        try {
            discovery.start();
            discovery.registerService(WorkerInstanceSerializer.instance(info));
            return new WorkerRegistration(discovery);
        } catch (Exception e) {
            discovery.close();
            throw e;
        }
    }

    /** Replaces the node's payload (a state change). */
    void update(WorkerInfo info) throws Exception {
        discovery.updateService(WorkerInstanceSerializer.instance(info));
    }

    /** Deletes the node. */
    @Override
    public void close() throws Exception {
        discovery.close();
    }
}
