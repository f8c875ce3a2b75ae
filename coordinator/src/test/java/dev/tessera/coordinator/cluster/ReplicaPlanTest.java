package dev.tessera.coordinator.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.Timestamp;
import dev.tessera.proto.v1.PipelineRoute;
import dev.tessera.proto.v1.WorkerInfo;
import dev.tessera.proto.v1.WorkerState;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** Replica assembly from hand-made WorkerInfo: which chains form, which are reported, and what a re-plan keeps. */
class ReplicaPlanTest {

    static final String MODEL = "gpt-oss-20b", FP = "1a2b3c4d";

    /** A READY worker of gpt-oss-20b (24 layers) holding [first,last), 16-token KV blocks, 100 of them. */
    static WorkerInfo.Builder w(String id, int first, int last) {
        return WorkerInfo.newBuilder().setWorkerId(id).setHost("10.0.0." + (id.hashCode() & 0x7f)).setPort(7001)
                .setModel(MODEL).setModelFingerprint(FP).setFirstLayer(first).setLastLayer(last).setNumLayers(24)
                .setKvBlockSize(16).setKvCapacityBlocks(100).setState(WorkerState.WORKER_STATE_READY)
                .setStartedAt(Timestamp.newBuilder().setSeconds(1_700_000_000L));
    }

    static List<String> ids(ReplicaPlan plan) {
        return plan.replicas().stream().map(Replica::id).toList();
    }

    @Test
    void twoFullReplicasFromFourHalfStages() {
        ReplicaPlan plan = ReplicaPlan.assemble(List.of(w("d", 12, 24).build(), w("a", 0, 12).setKvCapacityBlocks(80).build(),
                w("c", 0, 12).build(), w("b", 12, 24).setMaxBatchTokens(4096).build()));
        assertEquals(List.of("gpt-oss-20b/a,b", "gpt-oss-20b/c,d"), ids(plan));
        assertEquals(List.of(), plan.problems());
        Replica ab = plan.replicas().getFirst();
        assertEquals(80, ab.kvCapacityBlocks(), "the smallest pool of its stages");
        assertEquals(16, ab.kvBlockSize());
        assertEquals(4096, ab.maxBatchTokens(), "the smallest non-zero batch limit");
        assertEquals(FP, ab.fingerprint());
        assertEquals(List.of("a", "b"), ab.stages().stream().map(WorkerInfo::getWorkerId).toList());
    }

    @Test
    void fewerStagesWinWhenChainsCompeteForAWorker() {
        // a+b (2 stages) and c+d+b (3 stages) both need b: the shorter chain takes it.
        ReplicaPlan plan = ReplicaPlan.assemble(List.of(w("a", 0, 12).build(), w("b", 12, 24).build(),
                w("c", 0, 6).build(), w("d", 6, 12).build(), w("z", 0, 24).build()));
        assertEquals(List.of("gpt-oss-20b/a,b", "gpt-oss-20b/z"), ids(plan));
        assertEquals(List.of("gpt-oss-20b [fp 1a2b3c4d]: layers [12,24) missing; worker c holds [0,6), worker d holds [6,12)"),
                plan.problems());
    }

    @Test
    void anIncompleteChainIsReported() {
        ReplicaPlan plan = ReplicaPlan.assemble(List.of(w("w1", 0, 12).build()));
        assertEquals(List.of(), plan.replicas());
        assertEquals(List.of("gpt-oss-20b [fp 1a2b3c4d]: layers [12,24) missing; worker w1 holds [0,12)"), plan.problems());
    }

    @Test
    void rangesThatDoNotMeetAreReported() {
        ReplicaPlan plan = ReplicaPlan.assemble(List.of(w("a", 0, 14).build(), w("b", 12, 24).build()));
        assertEquals(List.of(), plan.replicas());
        assertEquals(1, plan.problems().size());
        assertTrue(plan.problems().getFirst().contains("do not meet end to end"), plan.problems().toString());
    }

    @Test
    void differentFingerprintsNeverShareAReplica() {
        ReplicaPlan plan = ReplicaPlan.assemble(List.of(w("a", 0, 12).build(), w("b", 12, 24).setModelFingerprint("ffff0000").build(),
                w("c", 0, 24).setModelFingerprint("ffff0000").build()));
        assertEquals(List.of("gpt-oss-20b/c"), ids(plan));
        assertEquals(List.of(
                "gpt-oss-20b [fp 1a2b3c4d]: layers [12,24) missing; worker a holds [0,12)",
                "gpt-oss-20b [fp ffff0000]: layers [0,12) missing; worker b holds [12,24)",
                "gpt-oss-20b: the workers hold 2 different checkpoints (fp 1a2b3c4d, ffff0000); workers of different "
                        + "checkpoints never share a replica"), plan.problems());
    }

    @Test
    void workersThatAreNotReadyAreLeftOutAndNamed() {
        ReplicaPlan plan = ReplicaPlan.assemble(List.of(w("w3", 0, 24).setState(WorkerState.WORKER_STATE_LOADING).build(),
                w("w4", 0, 24).setState(WorkerState.WORKER_STATE_DRAINING).build(), w("w5", 0, 24).build()));
        assertEquals(List.of("gpt-oss-20b/w5"), ids(plan));
        assertEquals(List.of("worker w3 is LOADING", "worker w4 is DRAINING"), plan.problems());
    }

    @Test
    void unequalBlockSizesAreReportedNotAssembled() {
        ReplicaPlan plan = ReplicaPlan.assemble(List.of(w("a", 0, 12).build(), w("b", 12, 24).setKvBlockSize(32).build()));
        assertEquals(List.of(), plan.replicas());
        assertEquals(List.of("gpt-oss-20b [fp 1a2b3c4d]: a [0,12) with 16-token KV blocks, b [12,24) with 32-token KV "
                + "blocks hold every layer, but their KV block sizes differ; the stages of a replica need one block size"),
                plan.problems());
    }

    @Test
    void invalidRegistrationsAreReported() {
        ReplicaPlan plan = ReplicaPlan.assemble(List.of(w("a", 12, 30).build(), w("b", 0, 24).setKvCapacityBlocks(0).build()));
        assertEquals(List.of(), plan.replicas());
        assertEquals(List.of("worker a is READY but holds layers [12,30) of a 24-layer model, not a valid range",
                "worker b is READY but reports no KV cache (0 blocks of 16 tokens)"), plan.problems());
    }

    @Test
    void aReplicaWhoseWorkerLeavesReadyOrDisappearsIsGoneFromTheNextPlan() {
        ReplicaPlan first = ReplicaPlan.assemble(List.of(w("a", 0, 12).build(), w("b", 12, 24).build(), w("z", 0, 24).build()));
        assertEquals(List.of("gpt-oss-20b/a,b", "gpt-oss-20b/z"), ids(first));

        ReplicaPlan draining = ReplicaPlan.assemble(List.of(w("a", 0, 12).build(),
                w("b", 12, 24).setState(WorkerState.WORKER_STATE_DRAINING).build(), w("z", 0, 24).build()), first.replicas());
        assertEquals(List.of("gpt-oss-20b/z"), ids(draining));
        assertTrue(draining.problems().contains("worker b is DRAINING"), draining.problems().toString());

        ReplicaPlan gone = ReplicaPlan.assemble(List.of(w("a", 0, 12).build(), w("b", 12, 24).build()), first.replicas());
        assertEquals(List.of("gpt-oss-20b/a,b"), ids(gone));
    }

    @Test
    void aReplanKeepsServingReplicasAndRefreshesTheirInfo() {
        ReplicaPlan first = ReplicaPlan.assemble(List.of(w("a", 0, 12).build(), w("c", 12, 24).build()));
        assertEquals(List.of("gpt-oss-20b/a,c"), ids(first));
        List<WorkerInfo> now = List.of(w("a", 0, 12).setKvBlocksInUse(7).build(), w("b", 12, 24).build(), w("c", 12, 24).build());

        assertEquals(List.of("gpt-oss-20b/a,b"), ids(ReplicaPlan.assemble(now)), "from scratch, b sorts before c");
        ReplicaPlan kept = ReplicaPlan.assemble(now, first.replicas());
        assertEquals(List.of("gpt-oss-20b/a,c"), ids(kept), "a new worker does not break up a serving replica");
        assertEquals(7, kept.replicas().getFirst().stages().getFirst().getKvBlocksInUse(), "stages carry the current WorkerInfo");
        assertEquals(List.of("gpt-oss-20b [fp 1a2b3c4d]: layers [0,12) missing; worker b holds [12,24)"), kept.problems());

        // c restarted (a new process: its KV cache is gone), so the old replica is not kept.
        List<WorkerInfo> restarted = List.of(now.get(0), now.get(1), w("c", 12, 24).setStartedAt(Timestamp.newBuilder().setSeconds(1_800_000_000L)).build());
        assertEquals(List.of("gpt-oss-20b/a,b"), ids(ReplicaPlan.assemble(restarted, first.replicas())));
    }

    @Test
    void thePlanDoesNotDependOnInputOrder() {
        List<WorkerInfo> workers = new ArrayList<>(List.of(w("a", 0, 8).build(), w("b", 8, 16).build(), w("c", 16, 24).build(),
                w("d", 0, 16).build(), w("e", 16, 24).build(), w("f", 0, 8).build(), w("g", 8, 24).build(),
                w("h", 0, 24).setState(WorkerState.WORKER_STATE_LOADING).build()));
        ReplicaPlan expected = ReplicaPlan.assemble(workers);
        assertEquals(List.of("gpt-oss-20b/a,g", "gpt-oss-20b/d,c", "gpt-oss-20b/f,b,e"), ids(expected));
        Random random = new Random(42);
        for (int i = 0; i < 20; i++) {
            Collections.shuffle(workers, random);
            assertEquals(expected, ReplicaPlan.assemble(workers));
        }
    }

    @Test
    void aReplicaChecksItsInvariantsAndBuildsItsRoute() {
        assertThrows(IllegalArgumentException.class, () -> Replica.of(List.of(w("a", 0, 12).build(), w("b", 14, 24).build())));
        assertThrows(IllegalArgumentException.class, () -> Replica.of(List.of(w("a", 0, 12).build())));
        assertThrows(IllegalArgumentException.class, () -> Replica.of(List.of(w("a", 0, 24).setState(WorkerState.WORKER_STATE_LOADING).build())));
        assertThrows(IllegalArgumentException.class, () -> Replica.of(List.of(w("a", 0, 12).build(), w("b", 12, 24).setKvBlockSize(32).build())));

        Replica r = Replica.of(List.of(w("a", 0, 12).setHost("::1").setPort(7001).build(), w("b", 12, 24).setHost("host-b").setPort(7002).build()));
        PipelineRoute route = r.route();
        assertEquals("gpt-oss-20b/a,b", route.getReplicaId());
        assertEquals(FP, route.getModelFingerprint());
        assertEquals(List.of("[::1]:7001", "host-b:7002"), route.getStagesList().stream().map(s -> s.getAddress()).toList());
        assertEquals(12, route.getStages(1).getFirstLayer());
        assertEquals(24, route.getStages(1).getLastLayer());
        assertEquals(2, r.numStages());
        assertEquals(24, r.numLayers());
    }
}
