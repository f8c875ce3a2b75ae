package dev.tessera.worker.serve;

import dev.tessera.proto.v1.PipelineRoute;
import dev.tessera.proto.v1.StageEndpoint;
import dev.tessera.proto.v1.StageGrpc;
import dev.tessera.proto.v1.StepInput;
import dev.tessera.proto.v1.StepOutput;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * This stage's own Forward stream to the next stage of a route. The first StepInput it sends carries the rest of the
 * route (the route minus this stage); later ones carry none.
 *
 * <p>Backpressure: {@link #send} waits until the transport is ready for another message (the next stage requests
 * steps as its compute thread takes them), so nothing queues here without bound.
 *
 * <p>Thread safety: {@link #send} is called by the compute thread, {@link #halfClose} and {@link #cancel} by any;
 * the call is guarded by this object's monitor. Answers and the end of the stream go to the {@link Listener} on the
 * channel's threads. Lock order: a caller may hold no session lock while calling in here.
 */
final class Downstream implements ClientResponseObserver<StepInput, StepOutput> {

    /** What the session hears from the next stage. */
    interface Listener {
        void onAnswer(StepOutput output);

        /** The stream ended: OK when the next stage completed it, otherwise why it broke. */
        void onEnded(Status status);
    }

    /** Thrown when the next stage does not take a step within the stall timeout. */
    static final class StalledException extends Exception {
        StalledException(String message) { super(message); }
    }

    private final StageEndpoint next;
    private final PipelineRoute rest;
    private final ManagedChannel channel;
    private final Listener listener;
    private ClientCallStreamObserver<StepInput> call;   // guarded by this
    private boolean routeSent, closed;                  // guarded by this

    Downstream(PipelineRoute rest, ManagedChannel channel, Listener listener) {
        this.next = rest.getStages(0);
        this.rest = rest;
        this.channel = channel;
        this.listener = listener;
    }

    /** Opens the stream; nothing is sent yet. */
    void start() {
        StageGrpc.newStub(channel).forward(this);
    }

    StageEndpoint next() { return next; }

    /** "stage w1 at host:port holding [2,4)", for messages. */
    String describe() {
        return "stage " + next.getWorkerId() + " at " + next.getAddress() + " holding [" + next.getFirstLayer() + ","
                + next.getLastLayer() + ")";
    }

    @Override
    public synchronized void beforeStart(ClientCallStreamObserver<StepInput> requestStream) {
        call = requestStream;
        requestStream.setOnReadyHandler(this::wake);
    }

    /**
     * Sends one step, waiting while the transport is not ready.
     *
     * @return false when the stream was closed meanwhile (the step is dropped with it)
     * @throws StalledException when the next stage has not become ready within {@code stall}
     */
    synchronized boolean send(StepInput in, Duration stall) throws StalledException, InterruptedException {
        long deadline = System.nanoTime() + stall.toNanos();
        while (!closed && !call.isReady()) {
            long left = deadline - System.nanoTime();
            if (left <= 0)
                throw new StalledException(describe() + " has not taken step " + in.getStep() + " for " + stall.toSeconds() + " s");
            TimeUnit.NANOSECONDS.timedWait(this, left);
        }
        if (closed) return false;
        if (!routeSent) {
            in = in.toBuilder().setRoute(rest).build();
            routeSent = true;
        }
        call.onNext(in);
        return true;
    }

    /** Ends the stream normally: every step has been sent; answers still come, then the next stage completes. */
    synchronized void halfClose() {
        if (!closed) call.onCompleted();
    }

    /** Breaks the stream off (the next stage forgets its sequences) and releases the channel. */
    void cancel(String why) {
        ClientCallStreamObserver<StepInput> c;
        synchronized (this) {
            boolean wasClosed = closed;
            closed = true;
            notifyAll();
            c = wasClosed ? null : call;
        }
        if (c != null) c.cancel(why, null);
        channel.shutdownNow();
    }

    @Override
    public void onNext(StepOutput output) {
        listener.onAnswer(output);
    }

    @Override
    public void onError(Throwable t) {
        markClosed();
        listener.onEnded(Status.fromThrowable(t));
    }

    @Override
    public void onCompleted() {
        markClosed();
        listener.onEnded(Status.OK);
    }

    private synchronized void markClosed() {
        closed = true;
        notifyAll();
    }

    private synchronized void wake() { notifyAll(); }
}
