package dev.tessera.worker.sim;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.worker.engine.HiddenStates;
import dev.tessera.worker.engine.SamplingParams;
import dev.tessera.worker.engine.Sampler;
import dev.tessera.worker.engine.SequenceChunk;
import dev.tessera.worker.engine.ShardOutput;
import dev.tessera.worker.engine.ShardSpec;
import dev.tessera.worker.engine.ShardStep;
import dev.tessera.worker.model.ModelConfig;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

class SimulatedShardTest {

    /** The gpt-oss-120b shape: 36 layers, vocabulary 201088. */
    private static final ModelConfig MODEL = SimModel.preset("gpt-oss-120b").config();
    private static final LatencyModel LATENCY = new LatencyModel(10, 0.5, 2, "test");
    private static final int BLOCK = 4, BLOCKS = 64;
    private static final int[] PROMPT = {200006, 1428, 200008, 17, 9000, 42, 7};

    /** Records every deadline it is asked to wait for, and returns at once. */
    static final class FakePacer implements Pacer {
        long now = 1_000_000_000L;
        final List<Long> waits = new ArrayList<>();

        @Override public long nanoTime() { return now; }

        @Override public void sleepUntil(long deadline) {
            waits.add(deadline - now);
            now = Math.max(now, deadline);
        }
    }

    private static SimulatedShard shard(int first, int last, Pacer pacer) {
        return new SimulatedShard(MODEL, new ShardSpec(first, last, BLOCKS, BLOCK), LATENCY, pacer);
    }

    private static int[] blocks(int... ids) { return ids; }

    private static SequenceChunk chunk(long seq, int[] tokens, int start, int[] table, SamplingParams p) {
        return new SequenceChunk(seq, tokens, start, table, true, p);
    }

    /** Runs a step through {@code stages} in order, passing the hidden states on, and returns the last output. */
    private static ShardOutput run(List<SimulatedShard> stages, List<SequenceChunk> chunks) {
        ShardStep step = ShardStep.of(chunks);
        ShardOutput out = null;
        for (SimulatedShard s : stages) {
            out = s.forward(step);
            if (!s.isLast()) step = step.withHidden(out.hidden());
        }
        return out;
    }

    /** Greedy (or seeded) generation of {@code n} tokens for one sequence: a prefill in chunks, then decode steps. */
    private static int[] generate(List<SimulatedShard> stages, long seq, int[] table, int prefillChunk, int n, SamplingParams p) {
        ShardOutput out = null;
        for (int start = 0; start < PROMPT.length; start += prefillChunk) {
            int end = Math.min(PROMPT.length, start + prefillChunk);
            out = run(stages, List.of(new SequenceChunk(seq, Arrays.copyOfRange(PROMPT, start, end), start, table,
                    end == PROMPT.length, p)));
        }
        int[] tokens = new int[n];
        for (int i = 0; i < n; i++) {
            tokens[i] = out.sampled().getFirst().token();
            if (i + 1 < n) out = run(stages, List.of(chunk(seq, new int[] {tokens[i]}, PROMPT.length + i, table, p)));
        }
        return tokens;
    }

    @Test
    void aStepTakesTheLatencyModelsTimeTimesTheStagesShareOfTheLayers() {
        FakePacer pacer = new FakePacer();
        SimulatedShard quarter = shard(0, 9, pacer);   // 9 of 36 layers
        assertEquals(0.25, quarter.share());
        // a 5-token prefill chunk and a decode token: 6 tokens, 2 sequences: (10 + 0.5*6 + 2*2) ms * 0.25
        quarter.forward(ShardStep.of(List.of(
                new SequenceChunk(1, new int[] {1, 2, 3, 4, 5}, 0, blocks(0, 1), false, SamplingParams.GREEDY),
                new SequenceChunk(2, new int[] {6}, 3, blocks(2), true, SamplingParams.GREEDY))));
        // 16 decode tokens of 16 sequences: (10 + 8 + 32) * 0.25
        List<SequenceChunk> decode = new ArrayList<>();
        for (int s = 0; s < 16; s++) decode.add(new SequenceChunk(10 + s, new int[] {s}, 0, blocks(3 + s), true, SamplingParams.GREEDY));
        quarter.forward(ShardStep.of(decode));
        assertEquals(List.of(4_250_000L, 12_500_000L), pacer.waits);

        FakePacer whole = new FakePacer();
        shard(0, 36, whole).forward(ShardStep.of(List.of(new SequenceChunk(1, new int[] {1}, 0, blocks(0), true, SamplingParams.GREEDY))));
        assertEquals(List.of(12_500_000L), whole.waits); // 10 + 0.5 + 2
    }

    @Test
    void theRealClockWaitsAboutTheModelsTime() {
        // One loose real-time check; the exact delays are checked above with the fake clock.
        SimulatedShard s = new SimulatedShard(MODEL, new ShardSpec(0, 36, BLOCKS, BLOCK), new LatencyModel(40, 0, 0, "test"));
        long start = System.nanoTime();
        s.forward(ShardStep.of(List.of(chunk(1, new int[] {5}, 0, blocks(0), SamplingParams.GREEDY))));
        double ms = (System.nanoTime() - start) / 1e6;
        assertTrue(ms >= 40 && ms < 1040, "took " + ms + " ms for a 40 ms step");
    }

    @Test
    void anInterruptedWaitReturnsAtOnceWithTheFlagSet() {
        SimulatedShard s = new SimulatedShard(MODEL, new ShardSpec(0, 36, BLOCKS, BLOCK), new LatencyModel(60_000, 0, 0, "test"));
        Thread.currentThread().interrupt();
        long start = System.nanoTime();
        try {
            s.forward(ShardStep.of(List.of(chunk(1, new int[] {5}, 0, blocks(0), SamplingParams.GREEDY))));
            assertTrue(Thread.currentThread().isInterrupted());
            assertTrue(System.nanoTime() - start < 10_000_000_000L);
        } finally {
            Thread.interrupted();
        }
    }

    @Test
    void tokensAreOrdinaryDeterministicAndIndependentOfSplitChunkingBatchingAndBlocks() {
        int[] alone = generate(List.of(shard(0, 36, new FakePacer())), 1, blocks(0, 1, 2, 3), PROMPT.length, 8, SamplingParams.GREEDY);
        assertArrayEquals(alone, generate(List.of(shard(0, 36, new FakePacer())), 1, blocks(0, 1, 2, 3), PROMPT.length, 8,
                SamplingParams.GREEDY), "the same in a fresh stage");
        List<SimulatedShard> two = List.of(shard(0, 18, new FakePacer()), shard(18, 36, new FakePacer()));
        assertArrayEquals(alone, generate(two, 77, blocks(9, 4, 30, 2), 3, 8, SamplingParams.GREEDY),
                "the same over two stages, in 3-token prefill chunks, with other block ids and seq id");
        List<SimulatedShard> three = List.of(shard(0, 5, new FakePacer()), shard(5, 30, new FakePacer()), shard(30, 36, new FakePacer()));
        assertArrayEquals(alone, generate(three, 5, blocks(40, 41, 42, 43), 1, 8, SamplingParams.GREEDY), "over three stages");
        for (int t : alone) assertTrue(t >= 0 && t < SimulatedShard.FIRST_SPECIAL_TOKEN, "special token " + t);
        assertTrue(IntStream.of(alone).distinct().count() > 5, "stand-in tokens vary: " + Arrays.toString(alone));

        // Batched with another sequence, decoding in the same steps: the same tokens for the first.
        List<SimulatedShard> stages = List.of(shard(0, 18, new FakePacer()), shard(18, 36, new FakePacer()));
        int[] a = blocks(0, 1, 2, 3), b = blocks(4, 5, 6, 7);
        int[] other = {3, 1, 4, 1, 5};
        ShardOutput out = run(stages, List.of(chunk(1, PROMPT, 0, a, SamplingParams.GREEDY), chunk(2, other, 0, b, SamplingParams.GREEDY)));
        int[] batched = new int[8];
        for (int i = 0; i < 8; i++) {
            batched[i] = out.sampled().get(0).token();
            int next2 = out.sampled().get(1).token();
            out = run(stages, List.of(chunk(1, new int[] {batched[i]}, PROMPT.length + i, a, SamplingParams.GREEDY),
                    chunk(2, new int[] {next2}, other.length + i, b, SamplingParams.GREEDY)));
        }
        assertArrayEquals(alone, batched);
    }

    @Test
    void theSeedMattersUnlessGreedy() {
        SamplingParams seed1 = new SamplingParams(1f, 0, 1f, 1), seed2 = new SamplingParams(1f, 0, 1f, 2);
        SamplingParams greedy1 = new SamplingParams(0f, 0, 1f, 1), greedy2 = new SamplingParams(0f, 0, 1f, 2);
        int[] table = blocks(0, 1, 2, 3);
        int[] s1 = generate(List.of(shard(0, 36, new FakePacer())), 1, table, 7, 10, seed1);
        assertArrayEquals(s1, generate(List.of(shard(0, 36, new FakePacer())), 1, table, 7, 10, seed1));
        assertFalse(Arrays.equals(s1, generate(List.of(shard(0, 36, new FakePacer())), 1, table, 7, 10, seed2)));
        assertArrayEquals(generate(List.of(shard(0, 36, new FakePacer())), 1, table, 7, 10, greedy1),
                generate(List.of(shard(0, 36, new FakePacer())), 1, table, 7, 10, greedy2));
    }

    @Test
    void tokensDependOnWhatTheKvBlocksHold() {
        SimulatedShard s = shard(0, 36, new FakePacer());
        int[] table = blocks(0, 1, 2);
        int clean = run(List.of(s), List.of(chunk(1, PROMPT, 0, table, SamplingParams.GREEDY))).sampled().getFirst().token();
        int decodeClean = run(List.of(s), List.of(chunk(1, new int[] {clean}, PROMPT.length, table, SamplingParams.GREEDY)))
                .sampled().getFirst().token();

        // Another sequence is (wrongly) given the same blocks and overwrites positions 0..6; the first sequence then
        // decodes on top of what the other wrote: its token changes, as a real model's output would.
        SimulatedShard t = shard(0, 36, new FakePacer());
        run(List.of(t), List.of(chunk(1, PROMPT, 0, table, SamplingParams.GREEDY)));
        run(List.of(t), List.of(chunk(2, new int[] {9, 9, 9, 9, 9, 9, 9}, 0, table, SamplingParams.GREEDY)));
        int corrupted = run(List.of(t), List.of(chunk(1, new int[] {clean}, PROMPT.length, table, SamplingParams.GREEDY)))
                .sampled().getFirst().token();
        assertNotEquals(decodeClean, corrupted);

        // Recomputing the sequence from position 0 (as after a preemption), in other blocks, restores its tokens.
        int[] moved = blocks(10, 11, 12);
        run(List.of(t), List.of(new SequenceChunk(1, PROMPT, 0, moved, false, SamplingParams.GREEDY)));
        assertEquals(decodeClean, run(List.of(t), List.of(chunk(1, new int[] {clean}, PROMPT.length, moved, SamplingParams.GREEDY)))
                .sampled().getFirst().token());
    }

    @Test
    void aStageWhoseKvDisagreesWithThePreviousStagesScramblesTheValueAndCountsIt() {
        SimulatedShard first = shard(0, 18, new FakePacer()), last = shard(18, 36, new FakePacer());
        int[] table = blocks(0, 1, 2);
        ShardStep prefill = ShardStep.of(List.of(chunk(1, PROMPT, 0, table, SamplingParams.GREEDY)));
        ShardOutput h = first.forward(prefill);
        int token = last.forward(prefill.withHidden(h.hidden())).sampled().getFirst().token();
        int expected = run(List.of(shard(0, 36, new FakePacer())), List.of(chunk(1, PROMPT, 0, table, SamplingParams.GREEDY)))
                .sampled().getFirst().token();
        assertEquals(expected, token);
        assertEquals(0, last.kvMismatches());

        // The decode step reaches the last stage with another table than the first stage used: its KV at the
        // previous position was never written there.
        ShardStep decode = ShardStep.of(List.of(chunk(1, new int[] {token}, PROMPT.length, table, SamplingParams.GREEDY)));
        ShardOutput dh = first.forward(decode);
        ShardStep skewed = ShardStep.of(List.of(chunk(1, new int[] {token}, PROMPT.length, blocks(20, 21, 22), SamplingParams.GREEDY)));
        last.forward(skewed.withHidden(dh.hidden()));
        assertEquals(1, last.kvMismatches());
    }

    @Test
    void hiddenStatesAreASmallFixedPayloadPerToken() {
        SimulatedShard first = shard(0, 18, new FakePacer());
        ShardOutput out = first.forward(ShardStep.of(List.of(chunk(1, PROMPT, 0, blocks(0, 1), SamplingParams.GREEDY))));
        assertEquals(PROMPT.length, out.hidden().tokens());
        assertEquals(SimulatedShard.PAYLOAD_WIDTH, out.hidden().width());
        assertEquals(PROMPT.length * 16, out.hidden().bytes().length);
        assertTrue(out.sampled().isEmpty());
        assertNull(out.logits());

        // Past the first stage the token ids are not read: the payload carries what the stage needs.
        SimulatedShard last = shard(18, 36, new FakePacer());
        int expected = run(List.of(shard(0, 36, new FakePacer())), List.of(chunk(1, PROMPT, 0, blocks(0, 1), SamplingParams.GREEDY)))
                .sampled().getFirst().token();
        ShardStep blind = ShardStep.of(List.of(chunk(1, new int[PROMPT.length], 0, blocks(0, 1), SamplingParams.GREEDY)))
                .withHidden(out.hidden());
        assertEquals(expected, last.forward(blind).sampled().getFirst().token());
        assertEquals(0, last.kvMismatches());

        ShardStep wrongWidth = ShardStep.of(List.of(chunk(1, PROMPT, 0, blocks(0, 1), SamplingParams.GREEDY)))
                .withHidden(HiddenStates.of(new float[PROMPT.length * 2], PROMPT.length, 2));
        assertThrows(IllegalArgumentException.class, () -> last.forward(wrongWidth));
        assertThrows(IllegalArgumentException.class, () -> last.forward(ShardStep.of(List.of(chunk(1, PROMPT, 0, blocks(0, 1),
                SamplingParams.GREEDY)))), "no hidden states past the first stage");
    }

    @Test
    void blockTablesAreCheckedAsTheEngineChecksThem() {
        SimulatedShard s = shard(0, 36, new FakePacer());
        IllegalArgumentException tooShort = assertThrows(IllegalArgumentException.class,
                () -> s.forward(ShardStep.of(List.of(chunk(1, PROMPT, 0, blocks(0), SamplingParams.GREEDY)))));
        assertTrue(tooShort.getMessage().contains("block table holds 1 blocks"), tooShort.getMessage());
        IllegalArgumentException outside = assertThrows(IllegalArgumentException.class,
                () -> s.forward(ShardStep.of(List.of(chunk(1, new int[] {1}, 0, blocks(BLOCKS), SamplingParams.GREEDY)))));
        assertTrue(outside.getMessage().contains("names KV block " + BLOCKS), outside.getMessage());
        assertThrows(IllegalArgumentException.class, () -> s.forward(new ShardStep(
                List.of(chunk(1, new int[] {1}, 0, blocks(0), SamplingParams.GREEDY)), null, true, false)), "verification steps");
    }

    @Test
    void logprobsAreSimulatedButKeepTheContract() {
        SimulatedShard s = shard(0, 36, new FakePacer());
        ShardOutput out = run(List.of(s), List.of(chunk(1, PROMPT, 0, blocks(0, 1), SamplingParams.GREEDY),
                chunk(2, new int[] {1, 2}, 0, blocks(2), new SamplingParams(0.7f, 40, 0.9f, 3))));
        assertEquals(2, out.logitRows());
        for (int row = 0; row < 2; row++) {
            ShardOutput.Sampled sampled = out.sampled().get(row);
            Sampler.Logprobs lp = s.logprobs(out, row, sampled.token(), 20);
            assertEquals(sampled.logprob(), lp.chosen());
            assertTrue(lp.chosen() < 0 && lp.chosen() >= Math.log(0.4) - 1e-6, "chosen " + lp.chosen());
            assertEquals(sampled.token(), lp.topTokens()[0]);
            Set<Integer> ids = new HashSet<>();
            double mass = 0;
            for (int k = 0; k < 20; k++) {
                assertTrue(ids.add(lp.topTokens()[k]), "distinct ids");
                assertTrue(lp.topLogprobs()[k] <= 0);
                if (k > 0) assertTrue(lp.topLogprobs()[k] < lp.topLogprobs()[k - 1], "most probable first");
                mass += Math.exp(lp.topLogprobs()[k]);
            }
            assertTrue(mass < 1.0, "mass " + mass);
            Sampler.Logprobs again = s.logprobs(out, row, sampled.token(), 20);
            assertArrayEquals(lp.topTokens(), again.topTokens());
            assertEquals(0, s.logprobs(out, row, sampled.token(), 0).topTokens().length);
        }
    }

    @Test
    void aLayerRangePastTheModelIsRefused() {
        assertThrows(IllegalArgumentException.class, () -> shard(30, 40, new FakePacer()));
    }
}
