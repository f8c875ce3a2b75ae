package dev.tessera.client;

import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;

/**
 * Opens a channel to a coordinator given the address it registered in ZooKeeper ({@code CoordinatorInfo.address},
 * "host:port"). The client owns every channel it opens this way and shuts it down when the leader moves or the
 * client closes.
 */
@FunctionalInterface
public interface ChannelFactory {

    /** Plaintext HTTP/2 over the transport on the class path (Netty, shaded). */
    ChannelFactory PLAINTEXT = address -> {
        HostPort hp = HostPort.parse(address);
        return Grpc.newChannelBuilderForAddress(hp.host(), hp.port(), InsecureChannelCredentials.create()).build();
    };

    /**
     * @param address "host:port" as the coordinator registered it
     * @throws IllegalArgumentException when the address cannot be used
     */
    ManagedChannel open(String address);
}
