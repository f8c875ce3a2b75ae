package dev.tessera.worker.serve;

import static org.junit.jupiter.api.Assertions.fail;

import dev.tessera.proto.v1.StageGrpc;
import dev.tessera.proto.v1.StepInput;
import dev.tessera.proto.v1.StepOutput;
import io.grpc.Channel;
import io.grpc.Status;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/** A test's end of one Forward stream, as a coordinator holds it: send StepInputs, read StepOutputs and the end. */
final class ForwardCall implements ClientResponseObserver<StepInput, StepOutput> {

    private final ArrayBlockingQueue<StepOutput> outputs = new ArrayBlockingQueue<>(1024);
    private final CompletableFuture<Status> end = new CompletableFuture<>();
    private ClientCallStreamObserver<StepInput> requests;

    ForwardCall(Channel channel) {
        StageGrpc.newStub(channel).forward(this);
    }

    @Override
    public void beforeStart(ClientCallStreamObserver<StepInput> requestStream) { requests = requestStream; }

    synchronized ForwardCall send(StepInput in) {
        requests.onNext(in);
        return this;
    }

    synchronized void halfClose() { requests.onCompleted(); }

    synchronized void cancel() { requests.cancel("the test cancels", null); }

    /** The next StepOutput, waiting up to 10 s. */
    StepOutput next() throws InterruptedException {
        StepOutput out = outputs.poll(10, TimeUnit.SECONDS);
        if (out == null) fail("no StepOutput within 10 s; the stream " + (end.isDone() ? "ended: " + end.join() : "is still open"));
        return out;
    }

    /** The status the stream ended with, waiting up to 10 s. */
    Status awaitEnd() throws Exception {
        try {
            return end.get(10, TimeUnit.SECONDS);
        } catch (TimeoutException e) {
            return fail("the stream did not end within 10 s");
        }
    }

    int pendingOutputs() { return outputs.size(); }

    @Override
    public void onNext(StepOutput value) {
        if (!outputs.offer(value)) end.complete(Status.INTERNAL.withDescription("test buffer full"));
    }

    @Override
    public void onError(Throwable t) { end.complete(Status.fromThrowable(t)); }

    @Override
    public void onCompleted() { end.complete(Status.OK); }
}
