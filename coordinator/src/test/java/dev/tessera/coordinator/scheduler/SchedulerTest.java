package dev.tessera.coordinator.scheduler;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.proto.v1.SampledToken;
import dev.tessera.proto.v1.SamplingParams;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/** The scheduler with hand-made step results, no I/O (in the manner of vLLM's scheduler tests). */
class SchedulerTest {

    private static final int STOP = 99;
    private long arrivals;

    private Sequence seq(long id, int promptLength, int maxTokens, int priority) {
        int[] prompt = IntStream.range(0, promptLength).map(i -> 1000 + i).toArray();
        return new Sequence(id, prompt, promptLength, maxTokens, new int[] {STOP},
                SamplingParams.newBuilder().setTemperature(0).setSeed(7).build(), priority, arrivals++);
    }

    private static Scheduler scheduler(int budget, int blocks, int blockSize) {
        return new Scheduler(new SchedulerConfig(budget, 64, 64, blocks, blockSize, 1 << 17, 2));
    }

    /** The result the last stage would send: token {@code 1} for every sampled chunk, or the given token. */
    private static List<SampledToken> sampled(StepBatch batch, int token) {
        List<SampledToken> out = new ArrayList<>();
        for (ScheduledChunk c : batch.chunks())
            if (c.sample()) out.add(SampledToken.newBuilder().setSeqId(c.seq().id()).setTokenId(token).build());
        return out;
    }

    private static ScheduledChunk chunkOf(StepBatch batch, long seqId) {
        return batch.chunks().stream().filter(c -> c.seq().id() == seqId).findFirst().orElse(null);
    }

    @Test
    void prefillThenDecodeOneTokenAtATime() {
        Scheduler s = scheduler(512, 16, 4);
        Sequence a = seq(1, 10, 10, 0);
        s.add(a);
        StepBatch prefill = s.schedule();
        ScheduledChunk c = prefill.chunks().getFirst();
        assertEquals(0, c.start());
        assertEquals(10, c.length());
        assertTrue(c.newSequence());
        assertTrue(c.sample());
        assertEquals(0, c.sampleIndex());
        assertArrayEquals(new int[] {0, 1, 2}, c.blockIds(), "10 tokens in blocks of 4 need 3 blocks");
        assertNull(s.schedule(), "a sequence in flight is not scheduled again");

        assertEquals(1, s.update(prefill, sampled(prefill, 5)).size());
        StepBatch decode = s.schedule();
        c = decode.chunks().getFirst();
        assertEquals(10, c.start());
        assertArrayEquals(new int[] {5}, c.tokens(), "decode feeds back the sampled token");
        assertFalse(c.newSequence());
        assertEquals(0, c.blockIds().length, "position 10 still fits block 2");
        assertEquals(1, c.sampleIndex());
        s.update(decode, sampled(decode, 6));
        StepBatch eleven = s.schedule();
        assertEquals(0, eleven.chunks().getFirst().blockIds().length, "position 11 is the last of block 2");
        s.update(eleven, sampled(eleven, 7));
        StepBatch twelve = s.schedule();
        assertArrayEquals(new int[] {3}, twelve.chunks().getFirst().blockIds(), "position 12 opens a fourth block");
    }

    @Test
    void chunkedPrefillSamplesOnlyAtTheEnd() {
        Scheduler s = scheduler(4, 16, 4);
        Sequence a = seq(1, 10, 5, 0);
        s.add(a);
        int[] lengths = new int[3];
        boolean[] samples = new boolean[3];
        for (int i = 0; i < 3; i++) {
            StepBatch b = s.schedule();
            ScheduledChunk c = b.chunks().getFirst();
            lengths[i] = c.length();
            samples[i] = c.sample();
            assertEquals(i == 0, c.newSequence());
            s.update(b, sampled(b, 5));
        }
        assertArrayEquals(new int[] {4, 4, 2}, lengths);
        assertArrayEquals(new boolean[] {false, false, true}, samples);
        assertEquals(11, a.numTokens());
        assertEquals(10, a.numComputedTokens());
    }

    @Test
    void tokenBudgetIsSharedAndRunningGoesFirst() {
        Scheduler s = scheduler(8, 64, 4);
        Sequence a = seq(1, 6, 5, 0), b = seq(2, 6, 5, 0), c = seq(3, 6, 5, 0);
        s.add(a);
        s.add(b);
        s.add(c);
        StepBatch first = s.schedule();
        assertEquals(8, first.tokens());
        assertEquals(6, chunkOf(first, 1).length());
        assertEquals(2, chunkOf(first, 2).length(), "the second prompt gets the rest of the budget as a chunk");
        assertNull(chunkOf(first, 3));
        assertEquals(1, s.waiting());
        s.update(first, sampled(first, 5));
        StepBatch second = s.schedule();
        assertEquals(1, chunkOf(second, 1).length(), "running decode first");
        assertEquals(4, chunkOf(second, 2).length(), "then the running prefill's remaining 4 tokens");
        assertEquals(3, chunkOf(second, 3).length(), "then admission with what is left");
    }

    @Test
    void pipelinedStepsNeverShareASequence() {
        Scheduler s = scheduler(512, 64, 4);
        s.add(seq(1, 3, 5, 0));
        StepBatch one = s.schedule();
        s.add(seq(2, 3, 5, 0));
        StepBatch two = s.schedule();
        assertEquals(List.of(1L), one.chunks().stream().map(c -> c.seq().id()).toList());
        assertEquals(List.of(2L), two.chunks().stream().map(c -> c.seq().id()).toList());
        assertNull(s.schedule(), "both sequences are in flight");
        assertEquals(two.step(), one.step() + 1);
        s.update(one, sampled(one, 5));
        assertEquals(List.of(1L), s.schedule().chunks().stream().map(c -> c.seq().id()).toList());
    }

    @Test
    void preemptionFreesTheNewestAndRecomputesItsKnownTokens() {
        Scheduler s = scheduler(512, 4, 4); // 16 tokens of KV
        Sequence a = seq(1, 8, 10, 0), b = seq(2, 8, 10, 0);
        s.add(a);
        s.add(b);
        StepBatch prefill = s.schedule();
        assertEquals(0, s.kv().freeBlocks());
        s.update(prefill, sampled(prefill, 5)); // both now have 9 tokens, 8 computed

        StepBatch decode = s.schedule(); // a needs a third block: b (newest) is preempted
        assertEquals(List.of(1L), decode.chunks().stream().map(c -> c.seq().id()).toList());
        assertEquals(List.of(2L), decode.finishedSeqIds(), "the stages forget the preempted sequence's table");
        assertEquals(Sequence.State.WAITING, b.state());
        assertEquals(0, b.numComputedTokens());
        assertEquals(1, b.preemptions());
        assertEquals(1, s.preemptionsTotal());
        s.update(decode, sampled(decode, STOP)); // a finishes: its 3 blocks come back

        StepBatch recompute = s.schedule();
        ScheduledChunk c = chunkOf(recompute, 2);
        assertNotNull(c);
        assertTrue(c.newSequence());
        assertEquals(0, c.start());
        assertEquals(9, c.length(), "prompt and the completion token generated before the preemption");
        assertEquals(5, c.tokens()[8]);
        assertTrue(c.sample());
        assertEquals(1, c.sampleIndex(), "the next token is its second completion token");
        assertEquals(List.of(1L), recompute.finishedSeqIds());
    }

    @Test
    void aVictimScheduledEarlierInTheSameStepLosesItsChunk() {
        Scheduler s = scheduler(512, 4, 4); // 16 tokens of KV
        Sequence low = seq(1, 5, 10, 5); // admitted first, but the least important
        s.add(low);
        StepBatch one = s.schedule();
        s.update(one, sampled(one, 5)); // low: 6 tokens in 2 blocks
        Sequence high = seq(2, 8, 10, 0);
        s.add(high);
        StepBatch two = s.schedule(); // low decodes at 5; high prefills 8 tokens into the last 2 blocks
        assertEquals(2, two.chunks().size());
        assertEquals(0, s.kv().freeBlocks());
        s.update(two, sampled(two, 5));

        // low (position 6) fits its blocks and is scheduled first; high (position 8) needs a block, so low is the
        // victim although it already has a chunk in this step: that chunk must go, or both would write its blocks.
        StepBatch three = s.schedule();
        assertEquals(List.of(2L), three.chunks().stream().map(c -> c.seq().id()).toList());
        assertEquals(List.of(1L), three.finishedSeqIds());
        assertEquals(Sequence.State.WAITING, low.state());
        assertFalse(low.inFlight());
        assertEquals(3, high.blockTable().size());
    }

    @Test
    void lowerPriorityValuesAreAdmittedFirstAndPreemptedLast() {
        Scheduler s = scheduler(6, 64, 4);
        Sequence late = seq(1, 6, 5, 1), urgent = seq(2, 6, 5, -1);
        s.add(late);
        s.add(urgent);
        StepBatch b = s.schedule();
        assertEquals(List.of(2L), b.chunks().stream().map(c -> c.seq().id()).toList());
    }

    @Test
    void cancellationFreesBlocksAndTellsTheStages() {
        Scheduler s = scheduler(512, 8, 4);
        Sequence a = seq(1, 10, 5, 0);
        s.add(a);
        StepBatch b = s.schedule();
        assertEquals(3, s.kv().usedBlocks());
        s.finish(a, Finish.CANCELLED);
        assertEquals(0, s.kv().usedBlocks());
        assertTrue(s.update(b, sampled(b, 5)).isEmpty(), "a result for a cancelled sequence is dropped");
        StepBatch free = s.schedule();
        assertTrue(free.chunks().isEmpty());
        assertEquals(List.of(1L), free.finishedSeqIds());
        assertNull(s.schedule());
        assertFalse(s.hasWork());
    }

    @Test
    void stopTokensAndMaxTokensFinish() {
        Scheduler s = scheduler(512, 64, 4);
        Sequence stops = seq(1, 3, 10, 0), limited = seq(2, 3, 2, 0);
        s.add(stops);
        s.add(limited);
        StepBatch b = s.schedule();
        List<SampledToken> tokens = List.of(SampledToken.newBuilder().setSeqId(1).setTokenId(STOP).build(),
                SampledToken.newBuilder().setSeqId(2).setTokenId(4).build());
        List<Scheduler.Update> updates = s.update(b, tokens);
        assertEquals(Finish.STOP, updates.get(0).finish());
        assertEquals(STOP, stops.stopTokenId());
        assertNull(updates.get(1).finish());
        StepBatch next = s.schedule();
        assertEquals(List.of(1L), next.finishedSeqIds());
        assertEquals(Finish.LENGTH, s.update(next, sampled(next, 4)).getFirst().finish());
        assertEquals(2, limited.numCompletionTokens());
        assertEquals(0, s.kv().usedBlocks());
    }

    @Test
    void aPromptThatDoesNotFitLetsShorterOnesPassAFewTimes() {
        Scheduler s = scheduler(512, 6, 4); // 24 tokens of KV, maxSkips 2
        Sequence holder = seq(1, 12, 20, 0); // takes 3 blocks
        s.add(holder);
        StepBatch h = s.schedule();
        s.update(h, sampled(h, 5));
        Sequence big = seq(2, 16, 2, 0); // needs 4 blocks: does not fit next to holder
        s.add(big);
        for (int i = 0; i < 2; i++) {
            Sequence small = seq(10 + i, 2, 1, 0);
            s.add(small);
            StepBatch b = s.schedule();
            assertNotNull(chunkOf(b, 10 + i), "a small prompt behind the big one is admitted");
            assertNull(chunkOf(b, 2));
            s.update(b, sampled(b, 5)); // small finishes at once (max 1 token)
        }
        Sequence third = seq(20, 2, 1, 0);
        s.add(third);
        StepBatch b = s.schedule();
        assertNull(chunkOf(b, 20), "after maxSkips, admission waits for the big prompt");
        assertNull(chunkOf(b, 2));
        s.finish(holder, Finish.CANCELLED);
        s.update(b, sampled(b, 5));
        StepBatch after = s.schedule();
        assertNotNull(chunkOf(after, 2), "the big prompt goes first once it fits");
    }

    @Test
    void restartRecomputesAndStaleResultsAreIgnored() {
        Scheduler s = scheduler(512, 64, 4);
        Sequence a = seq(1, 5, 5, 0);
        s.add(a);
        StepBatch failed = s.schedule();
        s.restart(a);
        assertTrue(s.update(failed, sampled(failed, 5)).isEmpty(), "the failed step's result is void");
        StepBatch again = s.schedule();
        ScheduledChunk c = again.chunks().getFirst();
        assertTrue(c.newSequence());
        assertEquals(5, c.length());
        assertEquals(List.of(), again.finishedSeqIds(), "a restarted sequence in the same step is not also freed");
    }

    @Test
    void drainReturnsEveryLiveSequenceAndFreesTheirBlocks() {
        Scheduler s = scheduler(4, 64, 4);
        Sequence a = seq(1, 4, 5, 0), b = seq(2, 4, 5, 0);
        s.add(a);
        s.add(b);
        s.schedule();
        List<Sequence> live = s.drain();
        assertEquals(List.of(a, b), live);
        assertEquals(0, s.kv().usedBlocks());
        assertFalse(s.hasWork());
    }

    @Test
    void fitsChecksTheWholeContextAgainstThePool() {
        Scheduler s = scheduler(512, 4, 4);
        assertTrue(s.fits(10, 6));
        assertFalse(s.fits(10, 7));
    }

    @Test
    void aWaitingPromptIsOnlyCountedAsSkippedWhenSomethingPassesIt() {
        Scheduler s = scheduler(512, 8, 4); // maxSkips 2
        Sequence holder = seq(1, 12, 20, 0); // grows to 22 tokens (6 blocks) below
        s.add(holder);
        StepBatch h = s.schedule();
        s.update(h, sampled(h, 5));
        Sequence big = seq(2, 20, 2, 0); // 5 blocks: does not fit next to holder
        s.add(big);
        for (int i = 0; i < 10; i++) { // nothing behind it: waiting is not being passed over
            StepBatch b = s.schedule();
            s.update(b, sampled(b, 5));
        }
        Sequence small = seq(3, 2, 1, 0);
        s.add(small);
        StepBatch b = s.schedule();
        assertNotNull(chunkOf(b, 3), "the big prompt waited, but was never passed, so a small one may still pass it");
    }
}
