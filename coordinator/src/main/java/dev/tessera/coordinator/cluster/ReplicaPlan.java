package dev.tessera.coordinator.cluster;

import dev.tessera.proto.v1.WorkerInfo;
import dev.tessera.proto.v1.WorkerState;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.stream.Collectors;

/**
 * Which replicas the registered workers form, and why the others form none. Pure: no ZooKeeper, no clock; the same
 * input gives the same plan.
 *
 * <p>The rules, in order:
 * <ol>
 *   <li>Only READY workers with a valid layer range, address and KV cache take part; every other worker is reported
 *       ("worker w3 is LOADING").</li>
 *   <li>Each replica of the previous plan is kept when all its stages are still READY and are the same processes
 *       (same address, checkpoint, layer range, KV cache and start time), refreshed with their current WorkerInfo.
 *       NOTE: keeping beats re-optimising: a new worker must never break up a replica that is serving.</li>
 *   <li>The other workers are grouped by checkpoint (model, fingerprint, layer count) and KV block size; workers of
 *       different groups never share a replica. Within a group, the replica with the fewest stages is taken first
 *       (ties: the lexicographically smallest list of worker ids), then the next, until no chain from layer 0 to the
 *       last layer is left. NOTE: fewest stages first because a one-stage replica gives the most tokens/s per GPU;
 *       this greedy rule can form fewer replicas than possible for contrived layouts (ranges that cross), which
 *       operators do not deploy, and whatever is left over is reported.</li>
 *   <li>Left-over workers are reported per checkpoint: chains that only unequal KV block sizes keep apart, then the
 *       layers no left-over worker holds ("gpt-oss-20b [fp 1a2b3c]: layers [12,24) missing; worker w1 holds [0,12)").</li>
 * </ol>
 *
 * @param replicas the replicas, sorted by id; no worker is in two
 * @param problems human-readable reasons why workers serve in no replica; empty when every worker serves
 */
public record ReplicaPlan(List<Replica> replicas, List<String> problems) {

    private record Checkpoint(String model, String fingerprint, int numLayers) {
        static final Comparator<Checkpoint> ORDER = Comparator.comparing(Checkpoint::model)
                .thenComparing(Checkpoint::fingerprint).thenComparingInt(Checkpoint::numLayers);

        static Checkpoint of(WorkerInfo w) {
            return new Checkpoint(w.getModel(), w.getModelFingerprint(), w.getNumLayers());
        }

        String label() {
            String fp = fingerprint.length() > 12 ? fingerprint.substring(0, 12) : fingerprint;
            return model + " [fp " + fp + "]";
        }
    }

    public ReplicaPlan {
        replicas = List.copyOf(replicas);
        problems = List.copyOf(problems);
    }

    /** The plan for these workers from scratch. */
    public static ReplicaPlan assemble(Collection<WorkerInfo> workers) {
        return assemble(workers, List.of());
    }

    /** The plan for these workers, keeping the replicas of {@code previous} that are still intact. */
    public static ReplicaPlan assemble(Collection<WorkerInfo> workers, Collection<Replica> previous) {
        List<String> problems = new ArrayList<>();
        Map<String, WorkerInfo> free = new TreeMap<>();
        Set<String> seen = new HashSet<>();
        for (WorkerInfo w : workers.stream().sorted(Comparator.comparing(WorkerInfo::getWorkerId)).toList()) {
            String unusable = unusable(w);
            if (!seen.add(w.getWorkerId()))
                problems.add("worker " + w.getWorkerId() + " is registered twice; only one registration is used");
            else if (unusable != null) problems.add("worker " + w.getWorkerId() + " " + unusable);
            else free.put(w.getWorkerId(), w);
        }

        List<Replica> replicas = new ArrayList<>();
        for (Replica r : previous.stream().sorted(Comparator.comparing(Replica::id)).toList()) {
            List<WorkerInfo> now = r.stages().stream().map(s -> free.get(s.getWorkerId())).toList();
            boolean intact = true;
            for (int i = 0; i < now.size() && intact; i++) intact = now.get(i) != null && sameProcess(r.stages().get(i), now.get(i));
            if (!intact) continue;
            replicas.add(Replica.of(now));
            now.forEach(s -> free.remove(s.getWorkerId()));
        }

        Map<Checkpoint, Map<Integer, List<WorkerInfo>>> groups = new TreeMap<>(Checkpoint.ORDER);
        for (WorkerInfo w : free.values())
            groups.computeIfAbsent(Checkpoint.of(w), k -> new TreeMap<>())
                    .computeIfAbsent(w.getKvBlockSize(), k -> new ArrayList<>()).add(w);
        Map<String, Set<String>> strandedFingerprints = new TreeMap<>();
        for (var group : groups.entrySet()) {
            Checkpoint checkpoint = group.getKey();
            List<WorkerInfo> leftovers = new ArrayList<>();
            for (List<WorkerInfo> sameBlocks : group.getValue().values()) {
                Optional<List<WorkerInfo>> chain;
                while ((chain = Chains.shortest(sameBlocks, checkpoint.numLayers())).isPresent()) {
                    replicas.add(Replica.of(chain.get()));
                    sameBlocks.removeAll(chain.get());
                }
                leftovers.addAll(sameBlocks);
            }
            if (leftovers.isEmpty()) continue;
            leftovers.sort(Comparator.comparing(WorkerInfo::getWorkerId));
            reportLeftovers(checkpoint, leftovers, problems);
            strandedFingerprints.computeIfAbsent(checkpoint.model(), k -> new TreeSet<>()).add(checkpoint.fingerprint());
        }
        Map<String, Set<String>> fingerprintsByModel = new LinkedHashMap<>();
        for (Checkpoint c : groups.keySet()) fingerprintsByModel.computeIfAbsent(c.model(), k -> new TreeSet<>()).add(c.fingerprint());
        for (String model : strandedFingerprints.keySet()) {
            Set<String> fps = fingerprintsByModel.get(model);
            if (fps.size() > 1)
                problems.add(model + ": the workers hold " + fps.size() + " different checkpoints (fp " + String.join(", ", fps)
                        + "); workers of different checkpoints never share a replica");
        }
        replicas.sort(Comparator.comparing(Replica::id));
        return new ReplicaPlan(replicas, problems);
    }

    public Optional<Replica> replica(String id) {
        return replicas.stream().filter(r -> r.id().equals(id)).findFirst();
    }

    /** Why a worker cannot serve in any replica, or null when it can. */
    static String unusable(WorkerInfo w) {
        if (w.getState() != WorkerState.WORKER_STATE_READY) {
            return switch (w.getState()) {
                case WORKER_STATE_LOADING -> "is LOADING";
                case WORKER_STATE_DRAINING -> "is DRAINING";
                case WORKER_STATE_UNSPECIFIED -> "reports no state";
                default -> "reports an unknown state";
            };
        }
        if (w.getModel().isEmpty() || w.getModelFingerprint().isEmpty()) return "is READY but reports no model or fingerprint";
        if (w.getNumLayers() <= 0 || w.getFirstLayer() >= w.getLastLayer() || w.getLastLayer() > w.getNumLayers())
            return "is READY but holds layers " + range(w) + " of a " + w.getNumLayers() + "-layer model, not a valid range";
        if (w.getKvBlockSize() <= 0 || w.getKvCapacityBlocks() <= 0)
            return "is READY but reports no KV cache (" + w.getKvCapacityBlocks() + " blocks of " + w.getKvBlockSize() + " tokens)";
        if (w.getHost().isEmpty() || w.getPort() <= 0 || w.getPort() > 65535)
            return "is READY but has no valid address (host \"" + w.getHost() + "\", port " + w.getPort() + ")";
        return null;
    }

    /** Whether {@code now} is the same worker process, serving the same shard, as {@code before}. */
    static boolean sameProcess(WorkerInfo before, WorkerInfo now) {
        return before.getWorkerId().equals(now.getWorkerId()) && before.getHost().equals(now.getHost())
                && before.getPort() == now.getPort() && before.getModel().equals(now.getModel())
                && before.getModelFingerprint().equals(now.getModelFingerprint())
                && before.getFirstLayer() == now.getFirstLayer() && before.getLastLayer() == now.getLastLayer()
                && before.getNumLayers() == now.getNumLayers() && before.getKvBlockSize() == now.getKvBlockSize()
                && before.getKvCapacityBlocks() == now.getKvCapacityBlocks() && before.getStartedAt().equals(now.getStartedAt());
    }

    private static void reportLeftovers(Checkpoint checkpoint, List<WorkerInfo> leftovers, List<String> problems) {
        Optional<List<WorkerInfo>> mixed;
        while ((mixed = Chains.shortest(leftovers, checkpoint.numLayers())).isPresent()) {
            problems.add(checkpoint.label() + ": " + mixed.get().stream()
                    .map(w -> w.getWorkerId() + " " + range(w) + " with " + w.getKvBlockSize() + "-token KV blocks")
                    .collect(Collectors.joining(", "))
                    + " hold every layer, but their KV block sizes differ; the stages of a replica need one block size");
            leftovers.removeAll(mixed.get());
        }
        if (leftovers.isEmpty()) return;
        String holders = leftovers.stream().map(w -> "worker " + w.getWorkerId() + " holds " + range(w))
                .collect(Collectors.joining(", "));
        List<String> missing = missingLayers(leftovers, checkpoint.numLayers());
        if (!missing.isEmpty())
            problems.add(checkpoint.label() + ": layers " + String.join(", ", missing) + " missing; " + holders);
        else
            problems.add(checkpoint.label() + ": every layer is held, but the ranges do not meet end to end from layer 0 to "
                    + checkpoint.numLayers() + "; " + holders);
    }

    /** The layer ranges in [0, numLayers) that none of the workers holds, as "[a,b)". */
    private static List<String> missingLayers(List<WorkerInfo> workers, int numLayers) {
        Set<Integer> held = new HashSet<>();
        for (WorkerInfo w : workers) for (int l = w.getFirstLayer(); l < w.getLastLayer(); l++) held.add(l);
        List<String> gaps = new ArrayList<>();
        for (int l = 0; l < numLayers; l++) {
            if (held.contains(l)) continue;
            int start = l;
            while (l + 1 < numLayers && !held.contains(l + 1)) l++;
            gaps.add("[" + start + "," + (l + 1) + ")");
        }
        return gaps;
    }

    private static String range(WorkerInfo w) {
        return "[" + w.getFirstLayer() + "," + w.getLastLayer() + ")";
    }
}
