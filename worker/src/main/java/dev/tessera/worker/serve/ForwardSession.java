package dev.tessera.worker.serve;

import dev.tessera.proto.v1.PipelineRoute;
import dev.tessera.proto.v1.StageEndpoint;
import dev.tessera.proto.v1.StageTiming;
import dev.tessera.proto.v1.StepInput;
import dev.tessera.proto.v1.StepOutput;
import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One upstream Forward stream on this stage (pipeline.proto): its admission (epoch, route), its sequences, its
 * downstream stream, the outputs it owes, and its end.
 *
 * <p>Flow: the inbound thread checks and plans each StepInput ({@link StepPlanner}) and queues it for the worker's
 * compute thread ({@link StageCompute}), which runs it and either forwards it ({@link #forward}) or finishes it here
 * ({@link #finish}). Outputs go upstream through the {@link OutputLedger}, in step order.
 *
 * <p>Backpressure: the inbound side is in manual flow control; it requests {@link StageService#INBOUND_WINDOW}
 * messages once admitted and one more each time the compute thread takes a step, and only while the upstream can
 * take outputs (isReady). The compute thread waits while {@link #MAX_OWED} outputs are owed.
 *
 * <p>Thread safety: {@code onNext}/{@code onCompleted}/{@code onError} come one at a time from gRPC; the compute
 * thread and the downstream's threads call in concurrently. Everything shared, and every call on the upstream
 * observer, is guarded by this object's monitor. Lock order: this session, then nothing (downstream and service
 * calls are made outside it).
 */
final class ForwardSession implements StreamObserver<StepInput>, Downstream.Listener {

    private static final Logger log = LoggerFactory.getLogger(ForwardSession.class);

    /** Most outputs owed upstream (steps forwarded and not yet answered, or finished behind those). */
    static final int MAX_OWED = 16;

    private final StageService service;
    private final StageIdentity id;
    private final ServerCallStreamObserver<StepOutput> upstream;
    private final SequenceTable sequences = new SequenceTable();
    private final OutputLedger ledger = new OutputLedger();

    // Inbound thread only (gRPC delivers one message at a time).
    private volatile boolean admitted;
    private volatile long epoch;
    private long lastStep;
    private String replica = "";

    // Guarded by this.
    private boolean closed, upstreamGone, inputEnded;
    private int owedRequests;
    private Downstream downstream;

    ForwardSession(StageService service, ServerCallStreamObserver<StepOutput> upstream) {
        this.service = service;
        this.id = service.identity();
        this.upstream = upstream;
        upstream.setOnReadyHandler(this::onUpstreamReady);
        upstream.setOnCancelHandler(() -> upstreamGone("the caller cancelled the stream"));
    }

    long epoch() { return epoch; }

    SequenceTable sequences() { return sequences; }

    synchronized boolean isClosed() { return closed; }

    // ---- inbound (gRPC) ----

    @Override
    public void onNext(StepInput in) {
        long received = System.nanoTime();
        if (isClosed()) return;
        try {
            if (!admitted) admit(in);
            else checkFollowing(in);
            PlannedStep plan = service.planner().plan(in, sequences);
            synchronized (this) {
                if (closed) return;
                if (!service.compute().submit(new StageCompute.Work(this, in, plan, received)))
                    throw new StreamFault(Status.INTERNAL.withDescription("stage " + id.workerId() + ": inbound queue "
                            + "full at step " + in.getStep() + "; flow control was not respected"));
            }
        } catch (StreamFault fault) {
            close(fault.status());
        }
    }

    private void admit(StepInput in) throws StreamFault {
        if (in.getEpoch() == 0) throw StreamFault.invalid("step " + in.getStep() + ": epoch must be > 0");
        if (!in.hasRoute())
            throw StreamFault.invalid("the first StepInput of a stream must carry the route (this stage first)");
        RouteCheck.check(in.getRoute(), id);
        epoch = in.getEpoch();
        lastStep = in.getStep();
        replica = in.getRoute().getReplicaId();
        service.admit(this, epoch);
        admitted = true;
        log.info("stage {} {}: stream of epoch {} for replica '{}' accepted", id.workerId(), id.layers(), epoch, replica);
        if (!id.isLast()) openDownstream(in.getRoute());
        synchronized (this) {
            owedRequests += StageService.INBOUND_WINDOW - 1;
            flushRequests();
        }
    }

    private void openDownstream(PipelineRoute route) throws StreamFault {
        PipelineRoute rest = route.toBuilder().clearStages().addAllStages(route.getStagesList().subList(1, route.getStagesCount())).build();
        StageEndpoint next = rest.getStages(0);
        Downstream d;
        try {
            d = new Downstream(rest, service.channels().open(next), this);
            d.start();
        } catch (RuntimeException e) {
            throw StreamFault.unavailable("cannot open a stream to the next stage " + next.getWorkerId() + " at "
                    + next.getAddress() + ": " + e.getMessage());
        }
        synchronized (this) {
            if (!closed) {
                downstream = d;
                return;
            }
        }
        d.cancel("the upstream stream closed");
    }

    private void checkFollowing(StepInput in) throws StreamFault {
        if (in.hasRoute())
            throw StreamFault.invalid("step " + in.getStep() + ": only the first StepInput of a stream carries a route");
        if (in.getEpoch() != epoch)
            throw StreamFault.invalid("step " + in.getStep() + ": epoch " + in.getEpoch() + " differs from the stream's "
                    + epoch + "; every step of a stream carries the same epoch");
        if (Long.compareUnsigned(in.getStep(), lastStep) <= 0)
            throw StreamFault.invalid("step " + Long.toUnsignedString(in.getStep()) + " does not follow step "
                    + Long.toUnsignedString(lastStep) + "; step numbers strictly increase within a stream");
        long newest = service.fence().newest();
        if (epoch < newest)
            throw StreamFault.precondition(staleEpoch(epoch, newest));
        lastStep = in.getStep();
    }

    static String staleEpoch(long epoch, long newest) {
        return "leader epoch " + epoch + " is stale: this stage has seen epoch " + newest
                + "; a newer leader has taken over";
    }

    @Override
    public void onCompleted() {
        if (!admitted) {
            close(Status.OK);
            return;
        }
        synchronized (this) {
            if (closed) return;
            inputEnded = true;
            if (service.compute().submit(StageCompute.Work.end(this))) return;
        }
        close(Status.INTERNAL.withDescription("stage " + id.workerId() + ": no room to queue the end of the stream; "
                + "flow control was not respected"));
    }

    @Override
    public void onError(Throwable t) {
        upstreamGone("the caller's stream failed: " + Status.fromThrowable(t));
    }

    private void upstreamGone(String why) {
        synchronized (this) {
            upstreamGone = true;
        }
        close(Status.CANCELLED.withDescription(why));
    }

    // ---- compute thread ----

    /** The compute thread took a step of this stream: ask the caller for one more. */
    synchronized void taken() {
        owedRequests++;
        flushRequests();
    }

    /** Waits until fewer than {@link #MAX_OWED} outputs are owed; false when the stream closed meanwhile. */
    boolean awaitRoom(Duration stall) throws InterruptedException {
        long deadline = System.nanoTime() + stall.toNanos();
        synchronized (this) {
            while (!closed && ledger.size() >= MAX_OWED) {
                long left = deadline - System.nanoTime();
                if (left <= 0) break;
                TimeUnit.NANOSECONDS.timedWait(this, left);
            }
            if (closed) return false;
            if (ledger.size() < MAX_OWED) return true;
        }
        close(Status.UNAVAILABLE.withDescription("stage " + id.workerId() + ": the next stage has not answered "
                + MAX_OWED + " steps for " + stall.toSeconds() + " s"));
        return false;
    }

    /** A step finished on this stage (the last stage's output, or a failure): owed upstream in step order. */
    void finish(StepOutput output) {
        synchronized (this) {
            if (closed) return;
            ledger.finished(output);
            drainOutputs();
        }
    }

    /**
     * Sends a step on to the next stage.
     *
     * @param replacement when set, the output owed for this step instead of the next stage's answer
     */
    void forward(StepInput next, StageTiming own, StepOutput replacement) throws InterruptedException {
        Downstream d;
        synchronized (this) {
            if (closed) return;
            ledger.forwarded(next.getStep(), own, replacement);
            d = downstream;
        }
        try {
            d.send(next, StageService.STALL_TIMEOUT);
        } catch (Downstream.StalledException e) {
            close(Status.UNAVAILABLE.withDescription(e.getMessage()));
        }
    }

    /** Every step before the end of input has been run: end the stream once its outputs are out. */
    void inputDrained() {
        Downstream d;
        synchronized (this) {
            if (closed) return;
            d = downstream;
        }
        if (d != null) d.halfClose();
        else close(Status.OK);
    }

    // ---- downstream ----

    @Override
    public void onAnswer(StepOutput answer) {
        Status broken = null;
        synchronized (this) {
            if (closed) return;
            try {
                ledger.answered(answer);
                drainOutputs();
            } catch (IllegalStateException e) {
                broken = Status.INTERNAL.withDescription(downstreamName() + " broke step order: " + e.getMessage());
            }
        }
        if (broken != null) close(broken);
    }

    @Override
    public void onEnded(Status status) {
        String next = downstreamName();
        if (status.isOk()) {
            int owed;
            synchronized (this) {
                owed = ledger.size();
                if (closed) return;
            }
            close(inputEnded() && owed == 0 ? Status.OK : Status.UNAVAILABLE.withDescription(
                    next + " ended the stream with " + owed + " steps unanswered"));
            return;
        }
        close(switch (status.getCode()) {
            // NOTE: faults of the contract pass through with their code, so a fenced or superseded stream reads so
            // at the coordinator; anything else means the next stage is gone.
            case FAILED_PRECONDITION, INVALID_ARGUMENT, ABORTED ->
                    status.withDescription(next + " closed the stream: " + status.getDescription());
            default -> Status.UNAVAILABLE.withDescription(next + " was lost: " + status.getCode()
                    + (status.getDescription() == null ? "" : " (" + status.getDescription() + ")"));
        });
    }

    private synchronized boolean inputEnded() { return inputEnded; }

    private synchronized String downstreamName() {
        return downstream == null ? "the next stage" : downstream.describe();
    }

    // ---- shared ----

    /**
     * Ends the stream, once: forgets its sequences, answers the caller with {@code status} (unless it is gone),
     * drops its queued steps and breaks off the downstream stream.
     */
    void close(Status status) {
        Downstream d;
        synchronized (this) {
            if (closed) return;
            closed = true;
            sequences.close();
            ledger.clear();
            if (!upstreamGone) {
                try {
                    if (status.isOk()) upstream.onCompleted();
                    else upstream.onError(status.asRuntimeException());
                } catch (RuntimeException e) {
                    log.debug("stage {}: the caller is already gone: {}", id.workerId(), e.toString());
                }
            }
            d = downstream;
            notifyAll();
        }
        if (!admitted) log.info("stage {}: stream refused: {} {}", id.workerId(), status.getCode(), status.getDescription());
        else if (status.isOk()) log.info("stage {}: stream of epoch {} ended", id.workerId(), epoch);
        else log.info("stage {}: stream of epoch {} closed: {} {}", id.workerId(), epoch, status.getCode(), status.getDescription());
        service.closed(this);
        if (d != null) d.cancel("the upstream stream ended: " + status.getCode());
    }

    private void onUpstreamReady() {
        synchronized (this) {
            if (!closed) flushRequests();
        }
    }

    /** Guarded by this. NOTE: no request while the caller does not read our outputs, so they cannot pile up. */
    private void flushRequests() {
        if (owedRequests > 0 && !closed && !upstreamGone && upstream.isReady()) {
            upstream.request(owedRequests);
            owedRequests = 0;
        }
    }

    /** Guarded by this. */
    private void drainOutputs() {
        for (StepOutput out : ledger.drainReady()) {
            if (upstreamGone) continue;
            upstream.onNext(out);
        }
        notifyAll();
    }
}
