package dev.tessera.worker.serve;

import static dev.tessera.worker.serve.StageServiceTest.step;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.tessera.proto.v1.HiddenDtype;
import dev.tessera.proto.v1.PipelineRoute;
import dev.tessera.proto.v1.SequenceStep;
import dev.tessera.proto.v1.StageTiming;
import dev.tessera.proto.v1.StepErrorCode;
import dev.tessera.proto.v1.StepInput;
import dev.tessera.proto.v1.StepOutput;
import dev.tessera.proto.v1.WorkerInfo;
import com.google.protobuf.ByteString;
import io.grpc.Status;
import java.util.List;
import java.util.function.Predicate;
import org.junit.jupiter.api.Test;

/** The contract's faults: fencing, superseding, malformed steps, failed steps, freeing, and a lost next stage. */
class StageFaultsTest {

    private static final int[] PROMPT = {3, 14, 15, 92, 65, 35};

    private static SequenceStep newSeq(long id, int[] tokens, int... blocks) {
        SequenceStep.Builder s = SequenceStep.newBuilder().setSeqId(id).setNewSequence(true).setSampling(TestSequence.greedy())
                .setSample(true);
        for (int t : tokens) s.addTokens(t);
        for (int b : blocks) s.addBlockIds(b);
        return s.build();
    }

    private static StepInput first(TinyStages stages, long step, long epoch, SequenceStep... seqs) {
        return StepInput.newBuilder().setStep(step).setEpoch(epoch).setRoute(stages.route()).addAllSeqs(List.of(seqs)).build();
    }

    private static Status refused(TinyStages stages, int k, StepInput... inputs) throws Exception {
        ForwardCall call = new ForwardCall(stages.channel(k));
        for (StepInput in : inputs) call.send(in);
        return call.awaitEnd();
    }

    private static void assertStatus(Status.Code code, String fragment, Status actual) {
        assertEquals(code, actual.getCode(), actual::toString);
        assertTrue(actual.getDescription() != null && actual.getDescription().contains(fragment),
                () -> "description should mention '" + fragment + "': " + actual.getDescription());
    }

    @Test
    void aStaleEpochIsRefusedAndANewerOrEqualOneSupersedes() throws Exception {
        try (TinyStages stages = TinyStages.split(0, 4)) {
            ForwardCall a = new ForwardCall(stages.channel(0));
            step(a, first(stages, 1, 5, newSeq(1, PROMPT, 0, 1)));
            ForwardCall b = new ForwardCall(stages.channel(0));
            step(b, first(stages, 1, 5, newSeq(2, PROMPT, 4, 5)));
            assertStatus(Status.Code.ABORTED, "superseded", a.awaitEnd());
            assertEquals(1, stages.info(0).getLiveSequences(), "only the current stream's sequences are held");

            assertStatus(Status.Code.FAILED_PRECONDITION, "epoch 4 is stale",
                    refused(stages, 0, first(stages, 1, 4, newSeq(3, PROMPT, 0, 1))));
            step(b, StepInput.newBuilder().setStep(2).setEpoch(5).addSeqs(SequenceStep.newBuilder().setSeqId(2)
                    .addTokens(7).setStartPosition(PROMPT.length).setSample(true)).build());

            ForwardCall c = new ForwardCall(stages.channel(0));
            step(c, first(stages, 9, 6, newSeq(4, PROMPT, 0, 1)));
            assertStatus(Status.Code.ABORTED, "epoch 6", b.awaitEnd());
            assertEquals(6, stages.info(0).getEpoch());
            c.halfClose();
            assertEquals(Status.Code.OK, c.awaitEnd().getCode());
        }
    }

    @Test
    void malformedStepsCloseTheStreamWithInvalidArgument() throws Exception {
        try (TinyStages stages = TinyStages.split(0, 2, 4)) {
            SequenceStep unknown = SequenceStep.newBuilder().setSeqId(9).addTokens(1).setStartPosition(6).setSample(true).build();
            assertStatus(Status.Code.INVALID_ARGUMENT, "seq_id 9 is not known on this stream",
                    refused(stages, 0, first(stages, 1, 1, unknown)));
            assertStatus(Status.Code.INVALID_ARGUMENT, "epoch must be > 0", refused(stages, 0, first(stages, 1, 0)));
            assertStatus(Status.Code.INVALID_ARGUMENT, "must carry the route",
                    refused(stages, 0, StepInput.newBuilder().setStep(1).setEpoch(1).build()));
            assertStatus(Status.Code.INVALID_ARGUMENT, "does not follow step 5", refused(stages, 0,
                    first(stages, 5, 1), StepInput.newBuilder().setStep(5).setEpoch(1).build()));
            assertStatus(Status.Code.INVALID_ARGUMENT, "without sampling parameters", refused(stages, 0,
                    first(stages, 1, 1, newSeq(1, PROMPT, 0, 1).toBuilder().clearSampling().build())));
            assertStatus(Status.Code.INVALID_ARGUMENT, "outside the vocabulary", refused(stages, 0,
                    first(stages, 1, 1, newSeq(1, new int[] {512}, 0))));
            assertStatus(Status.Code.INVALID_ARGUMENT, "appears twice", refused(stages, 0,
                    first(stages, 1, 1, newSeq(1, PROMPT, 0, 1), newSeq(1, PROMPT, 2, 3))));

            // Straight to the second stage: the hidden states must be [6 tokens, 128] of float32.
            PipelineRoute fromSecond = stages.routeFrom(1);
            StepInput wrongSize = StepInput.newBuilder().setStep(1).setEpoch(1).setRoute(fromSecond)
                    .addSeqs(newSeq(1, PROMPT, 0, 1)).setHiddenDtype(HiddenDtype.HIDDEN_DTYPE_F32)
                    .setHiddenStates(ByteString.copyFrom(new byte[5 * 128 * 4])).build();
            assertStatus(Status.Code.INVALID_ARGUMENT, "hidden_states has 2560 bytes, but 6 tokens x hidden size 128",
                    refused(stages, 1, wrongSize));
            StepInput bf16 = wrongSize.toBuilder().setHiddenDtype(HiddenDtype.HIDDEN_DTYPE_BF16)
                    .setHiddenStates(ByteString.copyFrom(new byte[6 * 128 * 2])).build();
            ForwardCall ok = new ForwardCall(stages.channel(1));
            assertEquals(1, step(ok, bf16).getTokensCount(), "bf16 hidden states are accepted");
            ok.halfClose();
            assertEquals(Status.Code.OK, ok.awaitEnd().getCode());
        }
    }

    @Test
    void aRouteThatDoesNotMatchTheStageIsAFailedPrecondition() throws Exception {
        try (TinyStages stages = TinyStages.split(0, 2, 4)) {
            PipelineRoute route = stages.route();
            assertStatus(Status.Code.FAILED_PRECONDITION, "model fingerprint 'other'", refused(stages, 0,
                    first(stages, 1, 1).toBuilder().setRoute(route.toBuilder().setModelFingerprint("other")).build()));
            assertStatus(Status.Code.FAILED_PRECONDITION, "this is worker '" + stages.stage(1).id() + "'", refused(stages, 1,
                    first(stages, 1, 1)));
            assertStatus(Status.Code.FAILED_PRECONDITION, "holds [0,2)", refused(stages, 0, first(stages, 1, 1).toBuilder()
                    .setRoute(route.toBuilder().setStages(0, route.getStages(0).toBuilder().setLastLayer(3))).build()));
            assertStatus(Status.Code.FAILED_PRECONDITION, "the model has 4 layers", refused(stages, 0, first(stages, 1, 1)
                    .toBuilder().setRoute(route.toBuilder().removeStages(1)).build()));
        }
    }

    @Test
    void aStepThatCannotRunFailsAloneAndTheStreamGoesOn() throws Exception {
        try (TinyStages stages = new TinyStages(new int[] {0, 4}, new int[] {64}, 4, 16)) {
            ForwardCall call = new ForwardCall(stages.channel(0));
            StepOutput outside = call.send(first(stages, 1, 1, newSeq(1, PROMPT, 0, 64))).next();
            assertEquals(StepErrorCode.STEP_ERROR_CODE_INVALID_STEP, outside.getError().getCode());
            assertTrue(outside.getError().getMessage().contains("names KV block 64, outside this stage's pool 0..63"), outside::toString);
            assertEquals(stages.stage(0).id(), outside.getError().getWorkerId());
            assertEquals(0, outside.getTokensCount());

            StepOutput tooShort = call.send(StepInput.newBuilder().setStep(2).setEpoch(1).addSeqs(newSeq(2, PROMPT, 0)).build()).next();
            assertEquals(StepErrorCode.STEP_ERROR_CODE_INVALID_STEP, tooShort.getError().getCode());
            assertTrue(tooShort.getError().getMessage().contains("reaches position 5 but its block table holds 1 blocks"), tooShort::toString);

            StepOutput tooBig = call.send(StepInput.newBuilder().setStep(3).setEpoch(1)
                    .addSeqs(newSeq(3, new int[17], 0, 1, 2, 3, 4)).build()).next();
            assertEquals(StepErrorCode.STEP_ERROR_CODE_RESOURCE_EXHAUSTED, tooBig.getError().getCode());
            assertTrue(tooBig.getError().getMessage().contains("17 tokens, more than this stage's max_batch_tokens 16"), tooBig::toString);

            assertEquals(1, step(call, StepInput.newBuilder().setStep(4).setEpoch(1).addSeqs(newSeq(4, PROMPT, 0, 1)).build())
                    .getTokensCount(), "the stream goes on");
            assertEquals(1, stages.info(0).getLiveSequences(), "failed steps commit no sequence");
            call.halfClose();
            assertEquals(Status.Code.OK, call.awaitEnd().getCode());
        }
    }

    @Test
    void failuresKeepStepOrderAcrossStagesAndStillFreeDownstream() throws Exception {
        // The second stage's pool is smaller: block 40 is valid on the first stage only.
        try (TinyStages stages = new TinyStages(new int[] {0, 2, 4}, new int[] {64, 32}, 4, 256)) {
            ForwardCall call = new ForwardCall(stages.channel(0));
            call.send(first(stages, 1, 1, newSeq(1, PROMPT, 0, 1)));
            call.send(StepInput.newBuilder().setStep(2).setEpoch(1).addSeqs(newSeq(2, PROMPT, 40, 41)).build());
            call.send(StepInput.newBuilder().setStep(3).setEpoch(1).addSeqs(newSeq(3, PROMPT, 70, 71)).build());
            StepOutput one = call.next(), two = call.next(), three = call.next();
            assertEquals(List.of(1L, 2L, 3L), List.of(one.getStep(), two.getStep(), three.getStep()), "outputs in step order");
            assertFalse(one.hasError());
            assertEquals(stages.stage(1).id(), two.getError().getWorkerId(), two::toString);
            assertEquals(List.of(stages.stage(1).id(), stages.stage(0).id()),
                    two.getStageTimingsList().stream().map(StageTiming::getWorkerId).toList());
            assertEquals(stages.stage(0).id(), three.getError().getWorkerId(), three::toString);

            // Step 4 fails on the first stage, but its finished sequence is still freed on the second.
            assertEquals(1, stages.info(1).getLiveSequences());
            StepOutput four = call.send(StepInput.newBuilder().setStep(4).setEpoch(1).addFinishedSeqIds(1)
                    .addSeqs(newSeq(4, PROMPT, 70, 71)).build()).next();
            assertEquals(StepErrorCode.STEP_ERROR_CODE_INVALID_STEP, four.getError().getCode());
            assertEquals(0, stages.info(1).getLiveSequences());
            assertEquals(0, stages.info(1).getKvBlocksInUse());
            assertEquals(1, stages.info(0).getLiveSequences(), "sequence 2 ran on the first stage, which still holds it");
            call.cancel();
        }
    }

    @Test
    void finishedSequencesAndTheEndOfTheStreamFreeEveryStage() throws Exception {
        try (TinyStages stages = TinyStages.split(0, 2, 4)) {
            TestSequence a = new TestSequence(1, PROMPT, TestSequence.greedy(), 4, 0);
            TestSequence b = new TestSequence(2, new int[] {5, 6, 7, 8, 9, 10, 11, 12, 13}, TestSequence.greedy(), 4, 10);
            ForwardCall call = new ForwardCall(stages.channel(0));
            StepOutput out = step(call, first(stages, 1, 1, a.rest(), b.rest()));
            a.append(StageServiceTest.token(out, 1));
            b.append(StageServiceTest.token(out, 2));
            for (int k = 0; k < 2; k++) {
                assertEquals(2, stages.info(k).getLiveSequences());
                assertEquals(a.blocks() + b.blocks(), stages.info(k).getKvBlocksInUse());
            }
            out = step(call, StepInput.newBuilder().setStep(2).setEpoch(1).addFinishedSeqIds(1).addSeqs(b.rest()).build());
            b.append(StageServiceTest.token(out, 2));
            for (int k = 0; k < 2; k++) {
                assertEquals(1, stages.info(k).getLiveSequences());
                assertEquals(b.blocks(), stages.info(k).getKvBlocksInUse());
            }
            StepOutput freeOnly = step(call, StepInput.newBuilder().setStep(3).setEpoch(1).addFinishedSeqIds(1).addFinishedSeqIds(2).build());
            assertEquals(0, freeOnly.getTokensCount());
            assertEquals(2, freeOnly.getStageTimingsCount());
            for (int k = 0; k < 2; k++) assertEquals(0, stages.info(k).getLiveSequences(), "freeing is idempotent");

            step(call, StepInput.newBuilder().setStep(4).setEpoch(1).addSeqs(newSeq(3, PROMPT, 0, 1)).build());
            assertEquals(1, stages.info(1).getLiveSequences());
            call.halfClose();
            assertEquals(Status.Code.OK, call.awaitEnd().getCode());
            for (int k = 0; k < 2; k++) {
                assertEquals(0, stages.info(k).getLiveSequences(), "the end of the stream frees stage " + k);
                assertEquals(0, stages.info(k).getKvBlocksInUse());
            }

            ForwardCall cancelled = new ForwardCall(stages.channel(0));
            step(cancelled, first(stages, 1, 1, newSeq(4, PROMPT, 0, 1)));
            cancelled.cancel();
            awaitInfo(stages, 0, i -> i.getLiveSequences() == 0 && i.getKvBlocksInUse() == 0);
            awaitInfo(stages, 1, i -> i.getLiveSequences() == 0 && i.getKvBlocksInUse() == 0);
        }
    }

    @Test
    void manyPipelinedStepsComeBackInOrderThroughTheBoundedQueues() throws Exception {
        try (TinyStages stages = TinyStages.split(0, 2, 4)) {
            ForwardCall call = new ForwardCall(stages.channel(0));
            int steps = 3 * ForwardSession.MAX_OWED;
            for (int i = 0; i < steps; i++) {
                StepInput.Builder in = StepInput.newBuilder().setStep(i).setEpoch(1).addSeqs(newSeq(100 + i, new int[] {i % 500}, i % 64));
                if (i == 0) in.setRoute(stages.route());
                if (i > 0) in.addFinishedSeqIds(100 + i - 1);
                call.send(in.build());
            }
            for (int i = 0; i < steps; i++) {
                StepOutput out = call.next();
                assertEquals(i, out.getStep());
                assertEquals(100 + i, out.getTokens(0).getSeqId(), out::toString);
            }
            call.halfClose();
            assertEquals(Status.Code.OK, call.awaitEnd().getCode());
        }
    }

    @Test
    void losingTheNextStageFailsTheStreamWithUnavailableNamingIt() throws Exception {
        try (TinyStages stages = TinyStages.split(0, 2, 4)) {
            ForwardCall call = new ForwardCall(stages.channel(0));
            step(call, first(stages, 1, 1, newSeq(1, PROMPT, 0, 1)));
            stages.stop(1);
            assertStatus(Status.Code.UNAVAILABLE, "stage " + stages.stage(1).id() + " at " + stages.stage(1).id() + " holding [2,4) was lost",
                    call.awaitEnd());
            awaitInfo(stages, 0, i -> i.getLiveSequences() == 0);

            assertStatus(Status.Code.UNAVAILABLE, stages.stage(1).id(), refused(stages, 0, first(stages, 1, 2, newSeq(1, PROMPT, 0, 1))));
        }
    }

    /** Polls stage {@code k}'s Info until {@code done}, for up to 5 s. */
    private static void awaitInfo(TinyStages stages, int k, Predicate<WorkerInfo> done) throws InterruptedException {
        long deadline = System.nanoTime() + 5_000_000_000L;
        WorkerInfo info;
        while (!done.test(info = stages.info(k))) {
            if (System.nanoTime() > deadline) fail("stage " + k + " did not get there within 5 s: " + info);
            Thread.sleep(10);
        }
    }
}
