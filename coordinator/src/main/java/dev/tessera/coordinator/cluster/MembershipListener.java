package dev.tessera.coordinator.cluster;

import dev.tessera.proto.v1.CoordinatorInfo;
import dev.tessera.proto.v1.WorkerInfo;
import java.util.List;
import java.util.Optional;

/**
 * Told when the cluster's view changes. Calls come on one thread, in order; each carries the newest snapshot, and
 * changes that follow each other quickly may arrive as one call (a listener sees the latest state, not every step
 * in between). Implementations must return promptly.
 */
public interface MembershipListener {

    /** The registered workers, or one of their payloads (state, KV use, ...), changed. Sorted by worker id. */
    void workersChanged(List<WorkerInfo> workers);

    /** The leader node changed: a new leader, or none. */
    default void leaderChanged(Optional<CoordinatorInfo> leader) {}
}
