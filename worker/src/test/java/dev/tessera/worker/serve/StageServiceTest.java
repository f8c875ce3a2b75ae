package dev.tessera.worker.serve;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.proto.v1.SampledToken;
import dev.tessera.proto.v1.SamplingParams;
import dev.tessera.proto.v1.StageTiming;
import dev.tessera.proto.v1.StepInput;
import dev.tessera.proto.v1.StepOutput;
import dev.tessera.worker.Fixtures;
import dev.tessera.worker.verify.Golden;
import io.grpc.Status;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Steps through real Stage services on the in-process transport reproduce transformers' greedy tokens. */
class StageServiceTest {

    static Golden golden;
    static int[] prompt;

    @BeforeAll
    static void loadGolden() {
        golden = Golden.load(Fixtures.tiny().resolve("golden.safetensors"));
        prompt = Arrays.copyOf(golden.inputIds(), golden.genPromptLen());
    }

    @Test
    void twoStagesReproduceTheGoldenTokensForAWholeAndAChunkedPrompt() throws Exception {
        try (TinyStages stages = TinyStages.split(0, 2, 4)) {
            TestSequence whole = new TestSequence(7, prompt, TestSequence.greedy(), 4, 0);
            TestSequence chunked = new TestSequence(8, prompt, TestSequence.greedy(), 4, 32);
            ForwardCall call = new ForwardCall(stages.channel(0));
            int n = golden.genTokens().length;
            // Step 1: all of `whole`'s prompt, and the first 3 tokens of `chunked` (no sample: the prompt goes on).
            StepOutput first = step(call, StepInput.newBuilder().setStep(100).setEpoch(3).setRoute(stages.route())
                    .addSeqs(whole.rest()).addSeqs(chunked.chunk(3)).build());
            assertEquals(1, first.getTokensCount(), "only the sequence that reached its last token samples");
            whole.append(token(first, 7));
            // Step 2 on: both decode (chunked first finishes its prompt), until each has all the golden tokens.
            for (long step = 101; chunked.generated().size() < n; step++) {
                StepInput.Builder in = StepInput.newBuilder().setStep(step).setEpoch(3).addSeqs(chunked.rest());
                if (whole.generated().size() < n) in.addSeqs(whole.rest());
                StepOutput out = step(call, in.build());
                chunked.append(token(out, 8));
                if (whole.generated().size() < n) whole.append(token(out, 7));
                assertEquals(List.of(stages.stage(1).id(), stages.stage(0).id()),
                        out.getStageTimingsList().stream().map(StageTiming::getWorkerId).toList(), "the last stage's timing first");
            }
            assertArrayEquals(golden.genTokens(), ints(whole.generated()));
            assertArrayEquals(golden.genTokens(), ints(chunked.generated()), "a chunked prefill in a batch gives the same tokens");
            call.halfClose();
            assertEquals(Status.Code.OK, call.awaitEnd().getCode());
        }
    }

    @Test
    void threeStagesReproduceTheGoldenTokens() throws Exception {
        try (TinyStages stages = TinyStages.split(0, 2, 3, 4)) {
            TestSequence seq = new TestSequence(1, prompt, TestSequence.greedy(), 4, 5);
            ForwardCall call = new ForwardCall(stages.channel(0));
            for (int i = 0; i < golden.genTokens().length; i++) {
                StepInput.Builder in = StepInput.newBuilder().setStep(i).setEpoch(1).addSeqs(seq.rest());
                if (i == 0) in.setRoute(stages.route());
                StepOutput out = step(call, in.build());
                assertEquals(3, out.getStageTimingsCount());
                seq.append(token(out, 1));
            }
            assertArrayEquals(golden.genTokens(), ints(seq.generated()));
            call.halfClose();
            assertEquals(Status.Code.OK, call.awaitEnd().getCode());
        }
    }

    @Test
    void logprobsAreTheRawLogSoftmaxOfTheLogits() throws Exception {
        try (TinyStages stages = TinyStages.split(0, 4)) {
            SamplingParams asked = SamplingParams.newBuilder().setTemperature(0f).setSeed(1).setLogprobs(true).setTopLogprobs(5).build();
            TestSequence seq = new TestSequence(1, prompt, asked, 4, 0);
            ForwardCall call = new ForwardCall(stages.channel(0));
            SampledToken t = step(call, StepInput.newBuilder().setStep(1).setEpoch(1).setRoute(stages.route())
                    .addSeqs(seq.rest()).build()).getTokens(0);

            double[] expected = logSoftmax(golden.logits(), (golden.genPromptLen() - 1) * golden.vocab(), golden.vocab());
            assertEquals(golden.genTokens()[0], t.getTokenId());
            assertEquals(expected[t.getTokenId()], t.getLogprob(), 2e-3);
            double[] sorted = Arrays.stream(expected).map(v -> -v).sorted().map(v -> -v).toArray();
            assertEquals(5, t.getTopLogprobsCount());
            assertEquals(t.getTokenId(), t.getTopLogprobs(0).getTokenId(), "greedy picks the most probable token");
            for (int k = 0; k < 5; k++) {
                assertEquals(sorted[k], t.getTopLogprobs(k).getLogprob(), 2e-3, "top_logprobs[" + k + "]");
                assertEquals(expected[t.getTopLogprobs(k).getTokenId()], t.getTopLogprobs(k).getLogprob(), 2e-3);
            }
            call.halfClose();
            assertEquals(Status.Code.OK, call.awaitEnd().getCode());
        }
    }

    @Test
    void aSeededDrawDependsOnSeedAndPositionNotOnTheBatchOrStream() throws Exception {
        try (TinyStages stages = TinyStages.split(0, 2, 4)) {
            SamplingParams seeded = SamplingParams.newBuilder().setTemperature(1f).setSeed(42).build();
            List<Integer> alone = generate(stages, 1, List.of(new TestSequence(5, prompt, seeded, 4, 0))).getFirst();
            // Another stream (it supersedes the first), the same sequence under another id and batched with others.
            List<List<Integer>> batched = generate(stages, 2, List.of(
                    new TestSequence(11, Arrays.copyOf(prompt, 3), TestSequence.greedy(), 4, 0),
                    new TestSequence(12, prompt, seeded, 4, 20),
                    new TestSequence(13, prompt, SamplingParams.newBuilder().setTemperature(1f).setSeed(43).build(), 4, 40)));
            assertEquals(alone, batched.get(1));
            assertNotEquals(alone, batched.get(2), "another seed draws other tokens");
            assertFalse(alone.equals(ints(golden.genTokens())), "temperature 1 is not greedy");
        }
    }

    /** Generates 8 tokens for each sequence, all in every step, on a new stream of {@code epoch}. */
    private static List<List<Integer>> generate(TinyStages stages, long epoch, List<TestSequence> seqs) throws Exception {
        ForwardCall call = new ForwardCall(stages.channel(0));
        for (int i = 0; i < 8; i++) {
            StepInput.Builder in = StepInput.newBuilder().setStep(i).setEpoch(epoch);
            if (i == 0) in.setRoute(stages.route());
            for (TestSequence s : seqs) in.addSeqs(s.rest());
            StepOutput out = step(call, in.build());
            for (TestSequence s : seqs) s.append(token(out, s.id));
        }
        call.halfClose();
        assertEquals(Status.Code.OK, call.awaitEnd().getCode());
        List<List<Integer>> out = new ArrayList<>();
        for (TestSequence s : seqs) out.add(List.copyOf(s.generated()));
        return out;
    }

    static StepOutput step(ForwardCall call, StepInput in) throws InterruptedException {
        StepOutput out = call.send(in).next();
        assertEquals(in.getStep(), out.getStep());
        assertFalse(out.hasError(), () -> "step " + in.getStep() + " failed: " + out.getError());
        return out;
    }

    static int token(StepOutput out, long seqId) {
        for (SampledToken t : out.getTokensList()) if (t.getSeqId() == seqId) return t.getTokenId();
        throw new AssertionError("step " + out.getStep() + " has no token for seq " + seqId + ": " + out);
    }

    static int[] ints(List<Integer> list) { return list.stream().mapToInt(Integer::intValue).toArray(); }

    static List<Integer> ints(int[] array) { return Arrays.stream(array).boxed().toList(); }

    private static double[] logSoftmax(float[] logits, int offset, int vocab) {
        double max = Double.NEGATIVE_INFINITY, sum = 0;
        for (int i = 0; i < vocab; i++) max = Math.max(max, logits[offset + i]);
        for (int i = 0; i < vocab; i++) sum += Math.exp(logits[offset + i] - max);
        double[] out = new double[vocab];
        for (int i = 0; i < vocab; i++) out[i] = logits[offset + i] - max - Math.log(sum);
        assertTrue(out.length > 0);
        return out;
    }
}
