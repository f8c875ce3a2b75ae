package dev.tessera.worker.engine;

/**
 * What a pipeline stage computes with: the layers {@code [spec.firstLayer, spec.lastLayer)} of a model over a paged KV
 * cache whose block ids the caller chooses. The seam between the stage's plumbing (streams, planning, flow control)
 * and the math: {@link ModelShard} runs the real forward pass; {@code dev.tessera.worker.sim.SimulatedShard} only
 * takes the time a latency model gives and produces deterministic stand-in tokens.
 *
 * <p>Contract shared by every implementation:
 * <ul>
 *   <li>{@link #forward} runs one step; the first stage reads the chunks' token ids, any other stage the previous
 *       stage's {@link HiddenStates} of {@code [step.tokens(), hiddenWidth()]}; a stage that is not last returns its
 *       own hidden states of that shape, the last returns one {@link ShardOutput.Sampled} per chunk that samples, in
 *       step order.</li>
 *   <li>KV: a chunk's tokens go to the slots its block table names; a step reads what earlier steps wrote at the
 *       positions before its chunk. A block table too short for a chunk, or naming a block outside
 *       {@code 0 .. spec.kvBlocks - 1}, is refused with {@link IllegalArgumentException} before anything is
 *       written.</li>
 *   <li>Single-threaded: one thread calls {@link #forward} at a time.</li>
 * </ul>
 */
public interface StageModel extends AutoCloseable {

    /** The layers held and the KV pool's shape. */
    ShardSpec spec();

    /** Embeds token ids (holds layer 0). */
    boolean isFirst();

    /** Samples (holds the model's last layer). */
    boolean isLast();

    /** Width of a row of the hidden states this stage takes from the previous one and gives to the next. */
    int hiddenWidth();

    /** Runs one step through this stage; see the class comment. */
    ShardOutput forward(ShardStep step);

    /**
     * The log-probabilities reported with the token sampled for the {@code row}-th sampled sequence of a step this
     * stage (the last) produced: the token's own, and the {@code top} most probable tokens, most probable first. The
     * engine reads them off {@link ShardOutput#logits()} (one row per sampled sequence, in step order).
     */
    default Sampler.Logprobs logprobs(ShardOutput out, int row, int token, int top) {
        int vocab = out.logits().length / out.logitRows();
        return Sampler.logprobs(out.logits(), row * vocab, vocab, token, top);
    }

    /** Releases what the stage holds; it is not used afterwards. */
    @Override
    void close();
}
