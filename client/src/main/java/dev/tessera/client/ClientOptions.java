package dev.tessera.client;

import java.time.Duration;

/**
 * How a {@link TesseraClient} calls the cluster.
 *
 * @param deadline   how long each call may take, from the moment it is made to its last message (the wait for a
 *                   leader coordinator included); {@code null}: no deadline
 * @param leaderWait how long a call waits for a leader coordinator to be registered when there is none (only for
 *                   clients built {@code fromZooKeeper}); the wait also ends at the call's deadline, whichever comes
 *                   first. Positive, not null
 */
public record ClientOptions(Duration deadline, Duration leaderWait) {

    /** No deadline; wait up to 30 s for a leader. */
    public static final ClientOptions DEFAULTS = new ClientOptions(null, Duration.ofSeconds(30));

    public ClientOptions {
        if (deadline != null && (deadline.isNegative() || deadline.isZero()))
            throw new IllegalArgumentException("the call deadline must be positive, got " + deadline);
        if (leaderWait == null || leaderWait.isNegative() || leaderWait.isZero())
            throw new IllegalArgumentException("the wait for a leader coordinator must be positive, got " + leaderWait);
    }

    /** These options with another deadline ({@code null}: none). */
    public ClientOptions withDeadline(Duration newDeadline) {
        return new ClientOptions(newDeadline, leaderWait);
    }

    /** These options with another wait for a leader coordinator. */
    public ClientOptions withLeaderWait(Duration newLeaderWait) {
        return new ClientOptions(deadline, newLeaderWait);
    }
}
