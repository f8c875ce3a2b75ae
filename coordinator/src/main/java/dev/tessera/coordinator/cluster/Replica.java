package dev.tessera.coordinator.cluster;

import dev.tessera.proto.v1.PipelineRoute;
import dev.tessera.proto.v1.StageEndpoint;
import dev.tessera.proto.v1.WorkerInfo;
import dev.tessera.proto.v1.WorkerState;
import java.util.List;
import java.util.stream.Collectors;

/**
 * A pipeline that can serve: workers that together hold every layer of one checkpoint, in layer order.
 *
 * <p>Invariants (checked here): at least one stage; the stages' ranges are contiguous from layer 0 to the model's last
 * layer; every stage is READY and has the same model, fingerprint, layer count and KV block size; no worker twice.
 *
 * @param id stable name: the model, "/", then the stage worker ids joined by ","; e.g. "gpt-oss-20b/a:7001,b:7001"
 * @param model the model name every stage serves
 * @param fingerprint the checkpoint fingerprint every stage loaded
 * @param stages the stages, stage 0 (layer 0) first
 * @param kvBlockSize tokens per KV block, equal on every stage
 * @param kvCapacityBlocks blocks the replica can use: the smallest pool of its stages
 * @param maxBatchTokens most tokens per step: the smallest non-zero limit of its stages; 0 when none has a limit
 */
public record Replica(String id, String model, String fingerprint, List<WorkerInfo> stages, int kvBlockSize,
                      int kvCapacityBlocks, int maxBatchTokens) {

    public Replica {
        stages = List.copyOf(stages);
        if (stages.isEmpty()) throw new IllegalArgumentException("a replica needs at least one stage");
        WorkerInfo first = stages.getFirst();
        int position = 0;
        for (WorkerInfo s : stages) {
            if (s.getState() != WorkerState.WORKER_STATE_READY)
                throw new IllegalArgumentException("stage " + s.getWorkerId() + " is " + s.getState() + ", not READY");
            if (!s.getModel().equals(model) || !s.getModelFingerprint().equals(fingerprint)
                    || s.getNumLayers() != first.getNumLayers() || s.getKvBlockSize() != kvBlockSize)
                throw new IllegalArgumentException("stage " + s.getWorkerId() + " serves another checkpoint or KV block size");
            if (s.getFirstLayer() != position || s.getLastLayer() <= position)
                throw new IllegalArgumentException("stage " + s.getWorkerId() + " holds [" + s.getFirstLayer() + ","
                        + s.getLastLayer() + "), but the chain needs layer " + position + " next");
            position = s.getLastLayer();
        }
        if (stages.stream().map(WorkerInfo::getWorkerId).distinct().count() != stages.size())
            throw new IllegalArgumentException("a worker appears twice in replica " + id);
        if (position != first.getNumLayers())
            throw new IllegalArgumentException("the stages end at layer " + position + " of " + first.getNumLayers());
        if (!id.equals(idOf(model, stages))) throw new IllegalArgumentException("replica id " + id + " does not name its stages");
        if (kvBlockSize <= 0 || kvCapacityBlocks != stages.stream().mapToInt(WorkerInfo::getKvCapacityBlocks).min().orElseThrow()
                || maxBatchTokens != maxBatchTokensOf(stages))
            throw new IllegalArgumentException("replica " + id + ": KV block size, capacity or batch limit disagree with its stages");
    }

    /** The replica these stages form, with its derived limits. */
    public static Replica of(List<WorkerInfo> stages) {
        if (stages.isEmpty()) throw new IllegalArgumentException("a replica needs at least one stage");
        WorkerInfo first = stages.getFirst();
        return new Replica(idOf(first.getModel(), stages), first.getModel(), first.getModelFingerprint(), stages,
                first.getKvBlockSize(), stages.stream().mapToInt(WorkerInfo::getKvCapacityBlocks).min().orElseThrow(),
                maxBatchTokensOf(stages));
    }

    public static String idOf(String model, List<WorkerInfo> stages) {
        return model + "/" + stages.stream().map(WorkerInfo::getWorkerId).collect(Collectors.joining(","));
    }

    public int numLayers() {
        return stages.getFirst().getNumLayers();
    }

    public int numStages() {
        return stages.size();
    }

    public boolean uses(String workerId) {
        return stages.stream().anyMatch(s -> s.getWorkerId().equals(workerId));
    }

    /** The route of the first StepInput of a Forward stream to stage 0: every stage, in order. */
    public PipelineRoute route() {
        PipelineRoute.Builder route = PipelineRoute.newBuilder().setReplicaId(id).setModelFingerprint(fingerprint);
        for (WorkerInfo s : stages)
            route.addStages(StageEndpoint.newBuilder().setWorkerId(s.getWorkerId()).setAddress(address(s))
                    .setFirstLayer(s.getFirstLayer()).setLastLayer(s.getLastLayer()));
        return route.build();
    }

    /** A worker's Stage address, "host:port", with an IPv6 host in brackets. */
    public static String address(WorkerInfo w) {
        String host = w.getHost();
        return (host.contains(":") && !host.startsWith("[") ? "[" + host + "]" : host) + ":" + w.getPort();
    }

    @Override
    public String toString() {
        return id + " " + stages.stream().map(s -> "[" + s.getFirstLayer() + "," + s.getLastLayer() + ")")
                .collect(Collectors.joining("")) + " kv " + kvCapacityBlocks + "x" + kvBlockSize;
    }

    private static int maxBatchTokensOf(List<WorkerInfo> stages) {
        return stages.stream().mapToInt(WorkerInfo::getMaxBatchTokens).filter(n -> n > 0).min().orElse(0);
    }
}
