package dev.tessera.coordinator.api;

import dev.tessera.coordinator.engine.ReplicaSet;
import java.util.List;

/** What the client-facing services need to know of the coordinator's role and the cluster. */
public interface ClusterView {

    /** The replicas this coordinator schedules, or null when it is not the leader. */
    ReplicaSet replicaSet();

    /** The leader's Inference address ("host:port"), if one is known; for standbys' error messages. */
    String leaderAddress();

    /** Why replicas are missing, for humans: incomplete layer chains, loading workers. Empty when all is well. */
    List<String> problems();
}
