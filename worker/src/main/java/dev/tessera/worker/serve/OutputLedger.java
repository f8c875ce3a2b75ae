package dev.tessera.worker.serve;

import dev.tessera.proto.v1.StageTiming;
import dev.tessera.proto.v1.StepOutput;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;

/**
 * The steps of a stream whose StepOutput this stage still owes upstream, in step order: those forwarded downstream
 * (waiting for the next stage's answer) and those finished here (the last stage's outputs, and failures) that wait
 * behind earlier ones. It keeps the contract's order: one StepOutput per StepInput, in step order, a failure written
 * after the outputs of all earlier steps.
 *
 * <p>Not thread-safe: its session guards it.
 */
final class OutputLedger {

    /**
     * One owed step.
     *
     * @param own         this stage's timing, appended to the output as it passes
     * @param replacement when set, the output to send instead of the next stage's answer (a step that failed here
     *                    and was forwarded only to free finished sequences downstream)
     * @param output      the finished output; null while the next stage has not answered
     */
    private static final class Entry {
        final long step;
        final StageTiming own;
        final StepOutput replacement;
        StepOutput output;

        Entry(long step, StageTiming own, StepOutput replacement, StepOutput output) {
            this.step = step;
            this.own = own;
            this.replacement = replacement;
            this.output = output;
        }
    }

    private final ArrayDeque<Entry> owed = new ArrayDeque<>();

    int size() { return owed.size(); }

    boolean isEmpty() { return owed.isEmpty(); }

    /** Records a step forwarded downstream, before it is sent (its answer may come back at once). */
    void forwarded(long step, StageTiming own, StepOutput replacement) {
        owed.addLast(new Entry(step, own, replacement, null));
    }

    /** Records a step finished here, with its complete output (this stage's timing included). */
    void finished(StepOutput output) {
        owed.addLast(new Entry(output.getStep(), null, null, output));
    }

    /**
     * Takes the next stage's answer to the oldest forwarded step.
     *
     * @throws IllegalStateException when it answers a step that is not the oldest one waiting
     */
    void answered(StepOutput answer) {
        for (Entry e : owed) {
            if (e.output == null) {
                if (e.step != answer.getStep())
                    throw new IllegalStateException("answered step " + answer.getStep() + " while step " + e.step
                            + " was the oldest waiting");
                StepOutput.Builder out = e.replacement == null ? answer.toBuilder()
                        : e.replacement.toBuilder().clearStageTimings().addAllStageTimings(answer.getStageTimingsList());
                e.output = out.addStageTimings(e.own).build();
                return;
            }
        }
        throw new IllegalStateException("answered step " + answer.getStep() + ", which was never forwarded");
    }

    /** Removes and returns the outputs now ready to go upstream, oldest first. */
    List<StepOutput> drainReady() {
        List<StepOutput> ready = new ArrayList<>();
        while (!owed.isEmpty() && owed.peekFirst().output != null) ready.add(owed.pollFirst().output);
        return ready;
    }

    void clear() { owed.clear(); }
}
