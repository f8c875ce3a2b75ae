package dev.tessera.worker.serve;

import dev.tessera.proto.v1.SequenceStep;
import dev.tessera.proto.v1.StepError;
import dev.tessera.proto.v1.StepErrorCode;
import dev.tessera.proto.v1.StepInput;
import dev.tessera.worker.engine.HiddenStates;
import dev.tessera.worker.engine.SamplingParams;
import dev.tessera.worker.engine.SequenceChunk;
import dev.tessera.worker.engine.ShardStep;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Checks a StepInput against pipeline.proto and its stream's sequences, applies its sequence changes, and resolves it
 * into the shard's {@link ShardStep}.
 *
 * <p>Two kinds of fault, as the contract sorts them: a malformed message (a sequence twice, no tokens, an unknown
 * seq_id without new_sequence, bad sampling parameters, hidden states of the wrong size, a token outside the
 * vocabulary) throws {@link StreamFault} with INVALID_ARGUMENT; a step the stage cannot run (more tokens than
 * max_batch_tokens, a block id outside the pool, a table too short for the positions, positions past the model's
 * context) yields a {@link PlannedStep} whose error the stage reports in that step's StepOutput.
 *
 * <p>NOTE: finished_seq_ids are forgotten even when the step then fails, and a failed step commits none of its
 * sequences' changes: the coordinator restarts them with new_sequence, which replaces whatever this stage holds.
 */
final class StepPlanner {

    /** SamplingParams.top_logprobs' limit. */
    static final int MAX_TOP_LOGPROBS = 20;

    private final StageIdentity id;

    StepPlanner(StageIdentity id) { this.id = id; }

    PlannedStep plan(StepInput in, SequenceTable table) throws StreamFault {
        long step = in.getStep();
        Set<Long> scheduled = new HashSet<>();
        int tokens = 0;
        for (SequenceStep s : in.getSeqsList()) {
            long seq = s.getSeqId();
            if (!scheduled.add(seq)) throw StreamFault.invalid("step " + step + ": seq_id " + seq + " appears twice in seqs");
            if (s.getTokensCount() == 0)
                throw StreamFault.invalid("step " + step + ": seq_id " + seq + " has no tokens; a scheduled sequence needs at least one");
            if (s.getNewSequence() != s.hasSampling())
                throw StreamFault.invalid("step " + step + ": seq_id " + seq + (s.getNewSequence()
                        ? " is a new_sequence without sampling parameters" : " carries sampling parameters without new_sequence"));
            if (id.isFirst())
                for (int t : s.getTokensList())
                    if (Integer.toUnsignedLong(t) >= id.vocabSize())
                        throw StreamFault.invalid("step " + step + ": seq_id " + seq + " has token id " + Integer.toUnsignedLong(t)
                                + ", outside the vocabulary 0.." + (id.vocabSize() - 1));
            tokens += s.getTokensCount();
        }
        for (long done : in.getFinishedSeqIdsList())
            if (scheduled.contains(done))
                throw StreamFault.invalid("step " + step + ": seq_id " + done + " is both in finished_seq_ids and scheduled in seqs");
        HiddenStates hidden = HiddenCodec.decode(step, in.getHiddenStates(), in.getHiddenDtype(), tokens, id.hiddenSize(), id.isFirst());

        table.forget(in.getFinishedSeqIdsList());
        List<SequenceTable.Sequence> resolved = new ArrayList<>(in.getSeqsCount());
        for (SequenceStep s : in.getSeqsList()) {
            if (s.getNewSequence()) {
                resolved.add(new SequenceTable.Sequence(new int[0], sampling(step, s), s.getSampling().getLogprobs()
                        || s.getSampling().getTopLogprobs() > 0, s.getSampling().getTopLogprobs()));
            } else {
                SequenceTable.Sequence known = table.get(s.getSeqId());
                if (known == null)
                    throw StreamFault.invalid("step " + step + ": seq_id " + s.getSeqId() + " is not known on this stream; send "
                            + "it with new_sequence, its whole block table and its sampling parameters");
                resolved.add(known);
            }
        }

        if (tokens > id.maxBatchTokens())
            return PlannedStep.failed(error(StepErrorCode.STEP_ERROR_CODE_RESOURCE_EXHAUSTED, "step " + step + " schedules "
                    + tokens + " tokens, more than this stage's max_batch_tokens " + id.maxBatchTokens() + "; split it"));
        for (int i = 0; i < resolved.size(); i++) {
            SequenceStep s = in.getSeqs(i);
            int[] added = s.getBlockIdsList().stream().mapToInt(Integer::intValue).toArray();
            for (int b : added)
                if (Integer.toUnsignedLong(b) >= id.kvBlocks())
                    return PlannedStep.failed(error(StepErrorCode.STEP_ERROR_CODE_INVALID_STEP, "step " + step + ": seq_id "
                            + s.getSeqId() + " names KV block " + Integer.toUnsignedLong(b) + ", outside this stage's pool 0.."
                            + (id.kvBlocks() - 1)));
            SequenceTable.Sequence seq = resolved.get(i).withBlocks(added);
            resolved.set(i, seq);
            long end = Integer.toUnsignedLong(s.getStartPosition()) + s.getTokensCount();
            if (end > id.maxContextTokens())
                return PlannedStep.failed(error(StepErrorCode.STEP_ERROR_CODE_INVALID_STEP, "step " + step + ": seq_id "
                        + s.getSeqId() + " reaches position " + (end - 1) + ", past the model's context of "
                        + id.maxContextTokens() + " positions"));
            long covered = (long) seq.blocks().length * id.kvBlockSize();
            if (covered < end)
                return PlannedStep.failed(error(StepErrorCode.STEP_ERROR_CODE_INVALID_STEP, "step " + step + ": seq_id "
                        + s.getSeqId() + " reaches position " + (end - 1) + " but its block table holds " + seq.blocks().length
                        + " blocks of " + id.kvBlockSize() + " tokens (positions 0.." + (covered - 1) + ")"));
        }

        List<SequenceChunk> chunks = new ArrayList<>(resolved.size());
        List<PlannedStep.LogprobWant> wants = new ArrayList<>();
        for (int i = 0; i < resolved.size(); i++) {
            SequenceStep s = in.getSeqs(i);
            SequenceTable.Sequence seq = resolved.get(i);
            table.put(s.getSeqId(), seq);
            int[] ids = s.getTokensList().stream().mapToInt(Integer::intValue).toArray();
            chunks.add(new SequenceChunk(s.getSeqId(), ids, s.getStartPosition(), seq.blocks(), s.getSample(), seq.sampling()));
            if (s.getSample()) wants.add(new PlannedStep.LogprobWant(s.getSeqId(), seq.logprobs(), seq.topLogprobs()));
        }
        boolean logitsWanted = wants.stream().anyMatch(PlannedStep.LogprobWant::any);
        ShardStep shardStep = chunks.isEmpty() ? null : new ShardStep(chunks, hidden, false, false, logitsWanted);
        return new PlannedStep(shardStep, wants, null);
    }

    /** The engine's parameters for a new sequence; the contract's rules for each field. */
    private SamplingParams sampling(long step, SequenceStep s) throws StreamFault {
        dev.tessera.proto.v1.SamplingParams p = s.getSampling();
        String where = "step " + step + ": seq_id " + s.getSeqId() + ": sampling.";
        float temperature = p.hasTemperature() ? p.getTemperature() : 1f;
        if (!(temperature >= 0) || Float.isInfinite(temperature))
            throw StreamFault.invalid(where + "temperature must be finite and >= 0, got " + temperature);
        float topP = p.hasTopP() ? p.getTopP() : 1f;
        if (!(topP > 0 && topP <= 1)) throw StreamFault.invalid(where + "top_p must be in (0, 1], got " + topP);
        if (!p.hasSeed())
            throw StreamFault.invalid(where + "seed is unset; the coordinator completes every SamplingParams with a seed");
        if (p.getTopLogprobs() > MAX_TOP_LOGPROBS || p.getTopLogprobs() < 0)
            throw StreamFault.invalid(where + "top_logprobs must be at most " + MAX_TOP_LOGPROBS + ", got "
                    + Integer.toUnsignedLong(p.getTopLogprobs()));
        // NOTE: top_k is a uint32; anything at least the vocabulary keeps every token, as 0 does.
        long topK = Integer.toUnsignedLong(p.getTopK());
        return new SamplingParams(temperature, topK >= id.vocabSize() ? 0 : (int) topK, topP, p.getSeed());
    }

    private StepError error(StepErrorCode code, String message) {
        return StepError.newBuilder().setCode(code).setMessage(message).setWorkerId(id.workerId()).build();
    }
}
