package dev.tessera.coordinator.scheduler;

import java.util.List;

/**
 * What the scheduler decided for one step of a replica.
 *
 * @param step            step number, increasing per replica
 * @param chunks          the sequences and their tokens, in the order the stages lay them out
 * @param finishedSeqIds  sequences the stages must forget before running the chunks (finished, cancelled, preempted)
 */
public record StepBatch(long step, List<ScheduledChunk> chunks, List<Long> finishedSeqIds) {

    public StepBatch {
        chunks = List.copyOf(chunks);
        finishedSeqIds = List.copyOf(finishedSeqIds);
    }

    public int tokens() {
        int n = 0;
        for (ScheduledChunk c : chunks) n += c.length();
        return n;
    }

    public int samples() {
        int n = 0;
        for (ScheduledChunk c : chunks) if (c.sample()) n++;
        return n;
    }
}
