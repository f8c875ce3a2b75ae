package dev.tessera.coordinator.engine;

import dev.tessera.proto.v1.PipelineRoute;
import dev.tessera.proto.v1.StageEndpoint;
import java.util.List;

/**
 * What an engine loop needs to know of its replica: where its stages are and what they can hold.
 *
 * @param replicaId       stable name of the replica, for logs and metrics
 * @param model           model name
 * @param fingerprint     the checkpoint fingerprint every stage reported
 * @param stages          the stages in pipeline order; stage 0 embeds, the last samples
 * @param kvBlocks        KV blocks usable on every stage (the smallest pool)
 * @param kvBlockSize     tokens per block, equal on every stage
 * @param maxBatchTokens  the most tokens every stage accepts in one step (0: no limit)
 * @param vocabSize       the model's vocabulary size
 * @param maxContextTokens the model's context length
 * @param simulated       whether its stages are simulated (WorkerInfo.simulated): no model math
 * @param latencyModel    the simulated stages' latency model (WorkerInfo.latency_model); empty unless simulated
 */
public record ReplicaRoute(String replicaId, String model, String fingerprint, List<StageEndpoint> stages,
                           int kvBlocks, int kvBlockSize, int maxBatchTokens, int vocabSize, int maxContextTokens,
                           boolean simulated, String latencyModel) {

    public ReplicaRoute {
        stages = List.copyOf(stages);
        if (stages.isEmpty()) throw new IllegalArgumentException("replica " + replicaId + " has no stages");
        if (kvBlocks < 1 || kvBlockSize < 1) throw new IllegalArgumentException("replica " + replicaId + " has no KV cache");
        if (latencyModel == null) latencyModel = "";
    }

    /** A replica whose stages compute (not simulated). */
    public ReplicaRoute(String replicaId, String model, String fingerprint, List<StageEndpoint> stages, int kvBlocks,
                        int kvBlockSize, int maxBatchTokens, int vocabSize, int maxContextTokens) {
        this(replicaId, model, fingerprint, stages, kvBlocks, kvBlockSize, maxBatchTokens, vocabSize, maxContextTokens, false, "");
    }

    public int depth() { return stages.size(); }

    /** The route a Forward stream to stage 0 carries on its first step. */
    public PipelineRoute toProto() {
        return PipelineRoute.newBuilder().setReplicaId(replicaId).setModelFingerprint(fingerprint).addAllStages(stages).build();
    }

    @Override
    public String toString() {
        return replicaId + " " + stages.stream().map(s -> s.getWorkerId() + "[" + s.getFirstLayer() + "," + s.getLastLayer() + ")").toList();
    }
}
