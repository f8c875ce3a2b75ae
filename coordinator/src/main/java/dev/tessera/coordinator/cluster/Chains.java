package dev.tessera.coordinator.cluster;

import dev.tessera.proto.v1.WorkerInfo;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** Finds chains of workers whose layer ranges meet end to end from layer 0 to the last layer. Pure. */
final class Chains {

    private Chains() {}

    /**
     * The chain from layer 0 to {@code numLayers} with the fewest workers; among those, the one whose list of
     * worker ids is lexicographically smallest. Empty when there is none.
     *
     * <p>Dynamic programming over chain length: {@code best.get(p)} is the smallest chain of k workers ending at
     * layer p. Every chain of k+1 workers ending at q is some k-chain ending at w.first plus w, and replacing its
     * prefix by the smallest k-chain to the same layer never makes it larger, so extending only the best k-chains is
     * exact. At most numLayers rounds, each over every (end layer, worker) pair.
     */
    static Optional<List<WorkerInfo>> shortest(List<WorkerInfo> workers, int numLayers) {
        Map<Integer, List<WorkerInfo>> best = Map.of(0, List.of());
        for (int k = 1; k <= numLayers && !best.isEmpty(); k++) {
            Map<Integer, List<WorkerInfo>> next = new HashMap<>();
            for (var end : best.entrySet()) {
                for (WorkerInfo w : workers) {
                    if (w.getFirstLayer() != end.getKey() || w.getLastLayer() <= w.getFirstLayer()
                            || w.getLastLayer() > numLayers) continue;
                    List<WorkerInfo> chain = new ArrayList<>(end.getValue());
                    chain.add(w);
                    next.merge(w.getLastLayer(), chain, (a, b) -> compare(a, b) <= 0 ? a : b);
                }
            }
            if (next.containsKey(numLayers)) return Optional.of(List.copyOf(next.get(numLayers)));
            best = next;
        }
        return Optional.empty();
    }

    private static int compare(List<WorkerInfo> a, List<WorkerInfo> b) {
        for (int i = 0; i < Math.min(a.size(), b.size()); i++) {
            int c = a.get(i).getWorkerId().compareTo(b.get(i).getWorkerId());
            if (c != 0) return c;
        }
        return Integer.compare(a.size(), b.size());
    }
}
