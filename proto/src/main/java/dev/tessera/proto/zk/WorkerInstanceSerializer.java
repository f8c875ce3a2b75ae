package dev.tessera.proto.zk;

import com.google.protobuf.InvalidProtocolBufferException;
import dev.tessera.proto.v1.WorkerInfo;
import org.apache.curator.x.discovery.ServiceInstance;
import org.apache.curator.x.discovery.ServiceType;
import org.apache.curator.x.discovery.details.InstanceSerializer;

/**
 * Stores a worker's registry node as its {@link WorkerInfo} protobuf, nothing else: the instance's id, address and
 * port are the WorkerInfo's worker id, host and port, so the two can never disagree. (Curator's default JSON
 * serializer would need a Jackson bean as the payload.)
 */
public final class WorkerInstanceSerializer implements InstanceSerializer<WorkerInfo> {

    /** Builds the registry instance of a worker; every registration goes through here. */
    public static ServiceInstance<WorkerInfo> instance(WorkerInfo info) {
        try {
            return ServiceInstance.<WorkerInfo>builder()
                    .name(ZkLayout.STAGE_SERVICE)
                    .id(info.getWorkerId())
                    .address(info.getHost())
                    .port(info.getPort())
                    .payload(info)
                    .serviceType(ServiceType.DYNAMIC) // an ephemeral znode: it goes when the worker's session ends
                    .registrationTimeUTC(info.getStartedAt().getSeconds() * 1000 + info.getStartedAt().getNanos() / 1_000_000)
                    .build();
        } catch (Exception e) {
            throw new IllegalArgumentException("cannot register worker " + info.getWorkerId() + ": " + e.getMessage(), e);
        }
    }

    @Override
    public byte[] serialize(ServiceInstance<WorkerInfo> instance) {
        return instance.getPayload().toByteArray();
    }

    @Override
    public ServiceInstance<WorkerInfo> deserialize(byte[] bytes) throws Exception {
        try {
            return instance(WorkerInfo.parseFrom(bytes));
        } catch (InvalidProtocolBufferException e) {
            throw new IllegalStateException("a worker registry node does not hold a WorkerInfo: " + e.getMessage(), e);
        }
    }
}
