package dev.tessera.worker.serve;

import dev.tessera.proto.v1.HiddenDtype;
import dev.tessera.proto.v1.SampledToken;
import dev.tessera.proto.v1.StageTiming;
import dev.tessera.proto.v1.StepError;
import dev.tessera.proto.v1.StepErrorCode;
import dev.tessera.proto.v1.StepInput;
import dev.tessera.proto.v1.StepOutput;
import dev.tessera.proto.v1.TokenLogprob;
import dev.tessera.worker.backend.BackendLostException;
import dev.tessera.worker.engine.Sampler;
import dev.tessera.worker.engine.ShardOutput;
import dev.tessera.worker.engine.StageModel;
import io.grpc.Status;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The worker's one compute thread: it takes planned steps from a small bounded queue, in the order the current
 * stream received them, runs them through the stage's model (a {@link StageModel} is single-threaded), and hands each result
 * on: forwarded to the next stage, or, on the last stage, sampled into a StepOutput.
 *
 * <p>A failure while computing one step becomes that step's StepOutput.error and the stream goes on: out of memory
 * is RESOURCE_EXHAUSTED, a step the engine rejects is INVALID_STEP, anything else INTERNAL (logged with its batch).
 * A step that fails on a stage before the last is not forwarded, except to free its finished_seq_ids downstream.
 */
final class StageCompute {

    private static final Logger log = LoggerFactory.getLogger(StageCompute.class);

    /**
     * One queued item: a planned step, or (input null) the end of its stream's input.
     *
     * @param receivedNanos when the stage received the step, for StageTiming.queue_us
     */
    record Work(ForwardSession session, StepInput input, PlannedStep plan, long receivedNanos) {
        static Work end(ForwardSession session) { return new Work(session, null, null, System.nanoTime()); }

        boolean isEnd() { return input == null; }
    }

    private final StageIdentity id;
    // NOTE: sized for the current stream's window plus its end marker; a superseded stream's items are discarded.
    private final ArrayBlockingQueue<Work> queue = new ArrayBlockingQueue<>(StageService.INBOUND_WINDOW + 1);
    private final Thread thread;
    private volatile StageModel shard;
    private volatile boolean stopping;

    private volatile Consumer<String> onBackendLost;

    /**
     * Who to tell, from the compute thread, when a step finds the backend's device lost ({@link BackendLostException});
     * the listener must return at once (the worker stops on a thread of its own).
     */
    void onBackendLost(Consumer<String> listener) { this.onBackendLost = listener; }

    StageCompute(StageIdentity id) {
        this.id = id;
        this.thread = Thread.ofPlatform().name("tessera-stage-" + id.workerId()).daemon(true).unstarted(this::loop);
    }

    /** Starts computing on {@code shard}, which from now on only this thread touches. */
    void start(StageModel shard) {
        this.shard = shard;
        thread.start();
    }

    /** Queues a step; false when the queue is full (flow control was not respected). */
    boolean submit(Work work) { return queue.offer(work); }

    /** Drops the queued items of a stream that ended. */
    void discard(ForwardSession session) { queue.removeIf(w -> w.session() == session); }

    /**
     * Stops the thread, waiting up to {@code timeout} for a step in progress.
     *
     * @return true when it stopped (the shard may then be released)
     */
    boolean stop(Duration timeout) throws InterruptedException {
        stopping = true;
        queue.clear();
        if (!thread.isAlive()) return true;
        thread.interrupt();
        thread.join(timeout);
        return !thread.isAlive();
    }

    /** As {@link #stop}, logging instead of throwing; true when the thread stopped. */
    boolean stopQuietly(Duration timeout) {
        try {
            if (stop(timeout)) return true;
            log.warn("stage {}: the compute thread did not stop within {} s", id.workerId(), timeout.toSeconds());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return false;
    }

    private void loop() {
        while (!stopping) {
            Work w;
            try {
                w = queue.take();
            } catch (InterruptedException e) {
                break;
            }
            try {
                run(w);
            } catch (InterruptedException e) {
                break;
            } catch (Throwable t) {
                log.error("stage {}: unexpected failure on the compute thread", id.workerId(), t);
                w.session().close(Status.INTERNAL.withDescription("stage " + id.workerId() + " failed: " + t));
            }
        }
    }

    private void run(Work w) throws InterruptedException {
        ForwardSession session = w.session();
        if (session.isClosed()) return;
        if (w.isEnd()) {
            session.inputDrained();
            return;
        }
        session.taken();
        if (!session.awaitRoom(StageService.STALL_TIMEOUT)) return;
        long started = System.nanoTime();
        StepInput in = w.input();
        PlannedStep plan = w.plan();
        StepError error = plan.error();
        ShardOutput out = null;
        if (error == null && plan.step() != null) {
            try {
                out = shard.forward(plan.step());
            } catch (OutOfMemoryError e) {
                error = error(StepErrorCode.STEP_ERROR_CODE_RESOURCE_EXHAUSTED, in, "out of memory: " + e.getMessage());
            } catch (IllegalArgumentException e) {
                error = error(StepErrorCode.STEP_ERROR_CODE_INVALID_STEP, in, e.getMessage());
            } catch (BackendLostException e) {
                log.error("stage {}: step {} lost the device: {}", id.workerId(), in.getStep(), e.getMessage());
                error = error(StepErrorCode.STEP_ERROR_CODE_INTERNAL, in, "stage " + id.workerId() + " lost its device: "
                        + e.getMessage());
                // NOTE: the worker is told before this step's failure is answered and stops on a thread of its own, so
                // the answer may or may not go out before the stream is closed; either way the coordinator gives the
                // replica up and moves its requests to another one.
                Consumer<String> listener = onBackendLost;
                if (listener != null) listener.accept(e.getMessage());
            } catch (RuntimeException | Error e) {
                log.error("stage {}: step {} failed ({} sequences, {} tokens)", id.workerId(), in.getStep(),
                        plan.step().sequences().size(), plan.step().tokens(), e);
                error = error(StepErrorCode.STEP_ERROR_CODE_INTERNAL, in, e.toString());
            }
        }
        if (error != null) {
            fail(session, in, error, w.receivedNanos(), started);
        } else if (id.isLast()) {
            StepOutput.Builder output = sampled(in, plan, out);
            session.finish(output.addStageTimings(timing(w.receivedNanos(), started)).build());
        } else {
            StepInput.Builder next = in.toBuilder().clearRoute();
            if (out != null) next.setHiddenStates(HiddenCodec.encode(out.hidden())).setHiddenDtype(HiddenDtype.HIDDEN_DTYPE_F32);
            StepInput message = next.build();
            session.forward(message, timing(w.receivedNanos(), started), null);
        }
    }

    private void fail(ForwardSession session, StepInput in, StepError error, long received, long started)
            throws InterruptedException {
        StageTiming own = timing(received, started);
        StepOutput failed = StepOutput.newBuilder().setStep(in.getStep()).setEpoch(in.getEpoch()).setError(error)
                .addStageTimings(own).build();
        log.warn("stage {}: step {} failed: {} {}", id.workerId(), in.getStep(), error.getCode(), error.getMessage());
        if (!id.isLast() && in.getFinishedSeqIdsCount() > 0) {
            // NOTE: the finished sequences still have to be freed downstream: forward a step that only frees them, and
            // answer with the failure in place of the next stage's (empty) answer.
            StepInput freeOnly = StepInput.newBuilder().setStep(in.getStep()).setEpoch(in.getEpoch())
                    .addAllFinishedSeqIds(in.getFinishedSeqIdsList()).build();
            session.forward(freeOnly, own, failed);
        } else {
            session.finish(failed);
        }
    }

    /** The last stage's answer: one SampledToken per sampled sequence, in step order, with any log-probabilities asked. */
    private StepOutput.Builder sampled(StepInput in, PlannedStep plan, ShardOutput out) {
        StepOutput.Builder b = StepOutput.newBuilder().setStep(in.getStep()).setEpoch(in.getEpoch());
        if (out == null) return b;
        int vocab = id.vocabSize();
        List<ShardOutput.Sampled> sampled = out.sampled();
        for (int j = 0; j < sampled.size(); j++) {
            ShardOutput.Sampled s = sampled.get(j);
            PlannedStep.LogprobWant want = plan.wants().get(j);
            if (want.seqId() != s.seqId())
                throw new IllegalStateException("sampled seq_id " + s.seqId() + " where " + want.seqId() + " was expected");
            SampledToken.Builder token = SampledToken.newBuilder().setSeqId(s.seqId()).setTokenId(s.token());
            if (want.any()) {
                // NOTE: rows of ShardOutput.logits are the sampled sequences in step order, one each.
                Sampler.Logprobs lp = shard.logprobs(out, j, s.token(), Math.min(want.top(), vocab));
                token.setLogprob(lp.chosen());
                for (int k = 0; k < lp.topTokens().length; k++)
                    token.addTopLogprobs(TokenLogprob.newBuilder().setTokenId(lp.topTokens()[k]).setLogprob(lp.topLogprobs()[k]));
            }
            b.addTokens(token);
        }
        return b;
    }

    private StageTiming timing(long received, long started) {
        long now = System.nanoTime();
        return StageTiming.newBuilder().setWorkerId(id.workerId())
                .setQueueUs(TimeUnit.NANOSECONDS.toMicros(started - received))
                .setComputeUs(TimeUnit.NANOSECONDS.toMicros(now - started)).build();
    }

    private StepError error(StepErrorCode code, StepInput in, String message) {
        return StepError.newBuilder().setCode(code).setWorkerId(id.workerId())
                .setMessage("step " + in.getStep() + " on stage " + id.workerId() + " " + id.layers() + ": " + message).build();
    }
}
