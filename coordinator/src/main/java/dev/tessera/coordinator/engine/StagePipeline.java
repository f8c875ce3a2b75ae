package dev.tessera.coordinator.engine;

import dev.tessera.coordinator.scheduler.ScheduledChunk;
import dev.tessera.coordinator.scheduler.StepBatch;
import dev.tessera.proto.v1.SequenceStep;
import dev.tessera.proto.v1.StageGrpc;
import dev.tessera.proto.v1.StepInput;
import dev.tessera.proto.v1.StepOutput;
import io.grpc.Channel;
import io.grpc.Status;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The coordinator's end of a replica's pipeline: one {@code Stage.Forward} stream to stage 0, which relays each step
 * down the stages and each result back (pipeline.proto). Sends steps, and reports every StepOutput, or the stream's
 * end, to a listener.
 *
 * <p>NOTE: flow control. The engine loop keeps at most one step in flight per stage, so at most S messages are
 * ever outstanding on this stream in either direction; that bound, not {@code isReady}, is its backpressure.
 */
public final class StagePipeline implements AutoCloseable {

    /** Receives the stream's results, on a gRPC thread. */
    public interface Listener {
        void onStepOutput(StepOutput output);

        /** The stream ended; no further call follows. {@code status} is OK only after {@link #close()}. */
        void onClosed(Status status);
    }

    private final ReplicaRoute route;
    private final long epoch;
    private final ClientCallStreamObserver<StepInput> requests;
    private final AtomicBoolean closed = new AtomicBoolean();
    private boolean routeSent;

    public StagePipeline(Channel stage0, ReplicaRoute route, long epoch, Listener listener) {
        this.route = route;
        this.epoch = epoch;
        ClientResponseObserver<StepInput, StepOutput> responses = new ClientResponseObserver<>() {
            private ClientCallStreamObserver<StepInput> call;

            @Override
            public void beforeStart(ClientCallStreamObserver<StepInput> requestStream) { call = requestStream; }

            @Override
            public void onNext(StepOutput output) { listener.onStepOutput(output); }

            @Override
            public void onError(Throwable t) { if (closed.compareAndSet(false, true)) listener.onClosed(Status.fromThrowable(t)); }

            @Override
            public void onCompleted() {
                if (closed.compareAndSet(false, true))
                    listener.onClosed(Status.UNAVAILABLE.withDescription("stage " + route.stages().getFirst().getWorkerId()
                            + " ended the pipeline stream"));
            }
        };
        this.requests = (ClientCallStreamObserver<StepInput>) StageGrpc.newStub(stage0).forward(responses);
    }

    public ReplicaRoute route() { return route; }

    /** Sends one step. Called by the engine loop's thread only. */
    public void send(StepBatch batch) {
        StepInput.Builder in = StepInput.newBuilder().setStep(batch.step()).setEpoch(epoch)
                .addAllFinishedSeqIds(batch.finishedSeqIds());
        if (!routeSent) {
            in.setRoute(route.toProto());
            routeSent = true;
        }
        for (ScheduledChunk c : batch.chunks()) {
            SequenceStep.Builder s = SequenceStep.newBuilder().setSeqId(c.seq().id()).setStartPosition(c.start())
                    .setNewSequence(c.newSequence()).setSample(c.sample()).setSampleIndex(c.sampleIndex());
            for (int t : c.tokens()) s.addTokens(t);
            for (int b : c.blockIds()) s.addBlockIds(b);
            if (c.newSequence()) s.setSampling(c.seq().sampling());
            in.addSeqs(s);
        }
        requests.onNext(in.build());
    }

    /** Ends the stream: the stages forget its sequences. */
    @Override
    public void close() {
        if (closed.compareAndSet(false, true)) {
            try {
                requests.onCompleted();
            } catch (RuntimeException ignored) {
                // already cancelled by the transport
            }
        }
    }

    /** Cancels the stream at once (the replica is being abandoned). */
    public void cancel(String why) {
        closed.set(true);
        requests.cancel(why, null);
    }
}
