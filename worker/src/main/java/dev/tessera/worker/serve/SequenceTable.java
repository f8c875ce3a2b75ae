package dev.tessera.worker.serve;

import dev.tessera.worker.engine.SamplingParams;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;

/**
 * The sequences live on one Forward stream: per seq_id, the KV block table and sampling parameters the coordinator
 * sent (pipeline.proto, SequenceStep). The KV contents themselves are in the shard's pool.
 *
 * <p>Thread safety: changed by the stream's inbound thread (one message at a time, in order), read by
 * {@code Info} from any thread, and cleared when the stream ends; every method is synchronized. Once
 * {@link #close()}d the table stays empty.
 */
final class SequenceTable {

    /**
     * One sequence.
     *
     * @param blocks      its KV block ids in position order (a copy; never changed in place)
     * @param sampling    how the last stage samples it
     * @param logprobs    whether SampledToken.logprob is wanted
     * @param topLogprobs how many alternatives SampledToken.top_logprobs wants
     */
    record Sequence(int[] blocks, SamplingParams sampling, boolean logprobs, int topLogprobs) {
        Sequence withBlocks(int[] more) {
            if (more.length == 0) return this;
            int[] grown = Arrays.copyOf(blocks, blocks.length + more.length);
            System.arraycopy(more, 0, grown, blocks.length, more.length);
            return new Sequence(grown, sampling, logprobs, topLogprobs);
        }
    }

    private final Map<Long, Sequence> live = new HashMap<>();
    private long blocksInUse;
    private boolean closed;

    synchronized Sequence get(long seqId) { return live.get(seqId); }

    /** Takes {@code seq} as the whole state of {@code seqId}, replacing anything held for it. */
    synchronized void put(long seqId, Sequence seq) {
        if (closed) return;
        Sequence old = live.put(seqId, seq);
        blocksInUse += seq.blocks().length - (old == null ? 0 : old.blocks().length);
    }

    /** Forgets these sequences; ids not held are ignored, so forgetting is idempotent. */
    synchronized void forget(Iterable<Long> seqIds) {
        for (long id : seqIds) {
            Sequence old = live.remove(id);
            if (old != null) blocksInUse -= old.blocks().length;
        }
    }

    synchronized int size() { return live.size(); }

    /** Block ids named in the live sequences' tables (the coordinator never gives one block to two sequences). */
    synchronized long blocksInUse() { return blocksInUse; }

    /** Forgets everything, for good: the stream has ended. */
    synchronized void close() {
        closed = true;
        live.clear();
        blocksInUse = 0;
    }
}
