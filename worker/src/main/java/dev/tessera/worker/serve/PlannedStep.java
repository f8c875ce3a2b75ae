package dev.tessera.worker.serve;

import dev.tessera.proto.v1.StepError;
import dev.tessera.worker.engine.ShardStep;
import java.util.List;

/**
 * A received step, checked and resolved against its stream's sequences, ready for the compute thread.
 *
 * @param step    what the shard runs; null when the step schedules no tokens or failed
 * @param wants   per sequence sampled in this step, in step order: which log-probabilities it wants
 * @param error   set when the step cannot run (a step-level fault found while planning); {@code step} is then null
 */
record PlannedStep(ShardStep step, List<LogprobWant> wants, StepError error) {

    /** What one sampled sequence wants reported besides its token. */
    record LogprobWant(long seqId, boolean logprob, int top) {
        boolean any() { return logprob || top > 0; }
    }

    PlannedStep {
        wants = List.copyOf(wants);
        if (error != null && step != null) throw new IllegalArgumentException("a failed step has nothing to run");
    }

    static PlannedStep failed(StepError error) { return new PlannedStep(null, List.of(), error); }
}
