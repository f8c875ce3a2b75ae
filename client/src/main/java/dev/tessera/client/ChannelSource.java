package dev.tessera.client;

import io.grpc.Channel;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Where a {@link TesseraClient}'s calls go: one fixed channel, or the current leader coordinator's. */
interface ChannelSource extends AutoCloseable {

    /** A wait for a channel that can be withdrawn. */
    interface Pending {
        Pending NONE = () -> false;

        /** Ends the wait if it has not ended yet; then neither callback of {@link #acquire} runs. True if it did. */
        boolean withdraw();
    }

    /**
     * Runs {@code start} with the channel to make a call on, now or once there is one, or {@code fail} when there is
     * none after {@code waitNanos}. Exactly one of the two runs, once, unless the wait is withdrawn first; either may
     * run on the calling thread or on another one. {@code start} must not block: it only starts the call.
     */
    Pending acquire(long waitNanos, Consumer<Channel> start, Consumer<StatusRuntimeException> fail);

    /** What the calls go to, for messages: an address, or the ZooKeeper node naming the leader. */
    String describe();

    /**
     * Whether the channel can change to another server (the leader coordinator found in ZooKeeper): then a call
     * refused as UNAVAILABLE before its first message is worth retrying, on whichever server leads by then.
     */
    default boolean followsLeader() { return false; }

    /** Releases what this source owns; calls in flight on owned channels get a short grace period. */
    @Override
    void close();

    /** A channel the caller owns: closing the source leaves it alone. */
    static ChannelSource borrowed(Channel channel, String description) {
        return new Fixed(channel, null, description);
    }

    /** A channel this source owns and shuts down on close. */
    static ChannelSource owned(ManagedChannel channel, String description) {
        return new Fixed(channel, channel, description);
    }

    /** Shuts a channel down: calls in flight may finish within {@code grace}, then they are cancelled. */
    static void shutdown(ManagedChannel channel, Duration grace) {
        channel.shutdown();
        try {
            if (!channel.awaitTermination(grace.toNanos(), TimeUnit.NANOSECONDS)) channel.shutdownNow();
        } catch (InterruptedException e) {
            channel.shutdownNow();
            Thread.currentThread().interrupt();
        }
    }

    record Fixed(Channel channel, ManagedChannel owned, String describe) implements ChannelSource {
        private static final Logger log = LoggerFactory.getLogger(ChannelSource.class);

        @Override
        public Pending acquire(long waitNanos, Consumer<Channel> start, Consumer<StatusRuntimeException> fail) {
            start.accept(channel);
            return Pending.NONE;
        }

        @Override
        public void close() {
            if (owned == null) return;
            log.debug("closing the channel to {}", describe);
            shutdown(owned, TesseraClient.CLOSE_GRACE);
        }
    }
}
