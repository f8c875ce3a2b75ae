package dev.tessera.client;

import dev.tessera.proto.v1.GenerateRequest;
import dev.tessera.proto.v1.GenerateResponse;
import dev.tessera.proto.v1.InferenceGrpc;
import io.grpc.Channel;
import io.grpc.Deadline;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One Generate call on the async stub: waits for a channel, starts the call, assembles the completion and tells the
 * listener. Every API of the client (stream, listener, future) runs on this one.
 *
 * <p>Races: {@link #cancel()} and the start of the call are serialized by {@code lock}, so a cancel that comes while
 * the call is being started still cancels it. The listener's terminal callback runs once ({@code done}).
 */
final class GenerateCall implements Generation, ClientResponseObserver<GenerateRequest, GenerateResponse> {

    private static final Logger log = LoggerFactory.getLogger(GenerateCall.class);
    /** Waits between attempts of calls that a leader change interrupted before their first message. */
    private static final ScheduledExecutorService RETRIES = Executors.newSingleThreadScheduledExecutor(
            Thread.ofPlatform().name("tessera-client-retry").daemon().factory());
    private static final long FIRST_BACKOFF_NANOS = TimeUnit.MILLISECONDS.toNanos(100);
    private static final long MAX_BACKOFF_NANOS = TimeUnit.SECONDS.toNanos(2);

    private final GenerateRequest request;
    private final GenerationListener listener;
    private final int initialRequest;
    private final CompletionAssembler assembler = new CompletionAssembler();
    private final AtomicBoolean done = new AtomicBoolean();
    private final Object lock = new Object();
    private ClientCallStreamObserver<GenerateRequest> call; // guarded by lock
    private ChannelSource.Pending pending; // guarded by lock
    private boolean cancelled; // guarded by lock
    private volatile boolean received; // a message came on the current attempt
    private ChannelSource source;
    private Deadline deadline;
    private long waitNanos;
    private int attempts;

    /**
     * @param initialRequest 0: gRPC reads messages as they come; n > 0: it reads n, then one more per
     *                       {@link #request(int)} (flow control for a consumer that pulls)
     */
    GenerateCall(GenerateRequest request, GenerationListener listener, int initialRequest) {
        this.request = request;
        this.listener = listener;
        this.initialRequest = initialRequest;
    }

    /** Starts the call on the source's channel, waiting up to {@code waitNanos} for one; the call ends by {@code deadline}. */
    GenerateCall start(ChannelSource source, Deadline deadline, long waitNanos) {
        this.source = source;
        this.deadline = deadline;
        this.waitNanos = waitNanos;
        long waitStart = System.nanoTime();
        attempts++;
        ChannelSource.Pending p = source.acquire(waitNanos, channel -> begin(channel, deadline), this::fail);
        this.waitNanos = Math.max(0, waitNanos - (System.nanoTime() - waitStart));
        synchronized (lock) {
            pending = p;
        }
        return this;
    }

    private void begin(Channel channel, Deadline deadline) {
        synchronized (lock) {
            if (cancelled) return;
            InferenceGrpc.newStub(channel).withDeadline(deadline).generate(request, this);
        }
    }

    @Override
    public void beforeStart(ClientCallStreamObserver<GenerateRequest> requestStream) {
        synchronized (lock) {
            call = requestStream;
        }
        if (initialRequest > 0) requestStream.disableAutoRequestWithInitial(initialRequest);
    }

    /** Asks gRPC for n more messages (only with flow control, see the constructor). */
    void request(int n) {
        ClientCallStreamObserver<GenerateRequest> c;
        synchronized (lock) {
            c = call;
        }
        if (c != null) c.request(n);
    }

    @Override
    public void onNext(GenerateResponse chunk) {
        received = true;
        try {
            assembler.add(chunk);
        } catch (IllegalStateException e) {
            cancelCall("the server broke the stream contract: " + e.getMessage(), e);
            fail(Status.INTERNAL.withDescription(e.getMessage()).asRuntimeException());
            return;
        }
        if (!done.get()) listener.onChunk(chunk);
    }

    @Override
    public void onError(Throwable t) {
        StatusRuntimeException e = t instanceof StatusRuntimeException s ? s
                : Status.fromThrowable(t).asRuntimeException(Status.trailersFromThrowable(t));
        if (retryLater(e)) return;
        fail(e);
    }

    /**
     * Retries a call that a leader change cut off: refused or dropped as UNAVAILABLE (a dead leader, a standby)
     * before any message came, so nothing was generated for the caller and a new attempt repeats nothing. It goes
     * to whoever leads by then, after a backoff, while the deadline allows.
     */
    private boolean retryLater(StatusRuntimeException e) {
        if (e.getStatus().getCode() != Status.Code.UNAVAILABLE || received || source == null || !source.followsLeader())
            return false;
        long backoff = Math.min(FIRST_BACKOFF_NANOS << Math.min(attempts - 1, 10), MAX_BACKOFF_NANOS);
        if (deadline.timeRemaining(TimeUnit.NANOSECONDS) <= backoff) return false;
        synchronized (lock) {
            if (cancelled) return false;
            call = null; // cancel() now fails the call itself instead of cancelling a finished one
        }
        log.debug("call to {} unavailable ({}); retrying in {} ms", source.describe(), e.getStatus().getDescription(),
                TimeUnit.NANOSECONDS.toMillis(backoff));
        RETRIES.schedule(() -> {
            synchronized (lock) {
                if (cancelled) return;
            }
            start(source, deadline, Math.max(waitNanos, backoff));
        }, backoff, TimeUnit.NANOSECONDS);
        return true;
    }

    @Override
    public void onCompleted() {
        if (assembler.finished()) {
            Completion completion = assembler.build();
            if (done.compareAndSet(false, true)) callback(() -> listener.onComplete(completion));
        } else {
            fail(Status.INTERNAL.withDescription("the server closed the stream after " + assembler.tokens()
                    + " tokens without a final message (no finish_reason); the completion is cut off").asRuntimeException());
        }
    }

    private void fail(StatusRuntimeException error) {
        if (done.compareAndSet(false, true)) callback(() -> listener.onError(error));
    }

    private void callback(Runnable r) {
        try {
            r.run();
        } catch (RuntimeException e) {
            log.warn("a GenerationListener threw from its last callback", e);
        }
    }

    @Override
    public void cancel() {
        ChannelSource.Pending p;
        ClientCallStreamObserver<GenerateRequest> c;
        synchronized (lock) {
            if (cancelled || done.get()) return;
            cancelled = true; // from here on begin() starts nothing
            p = pending;
            c = call;
        }
        // NOTE: outside the lock, since gRPC may run the listener inline; the call, once set, never changes.
        if (c != null) {
            c.cancel("cancelled by the client", null); // gRPC answers with onError(CANCELLED)
            return;
        }
        if (p != null) p.withdraw();
        fail(Status.CANCELLED.withDescription("cancelled by the client before the call started").asRuntimeException());
    }

    private void cancelCall(String message, Throwable cause) {
        synchronized (lock) {
            cancelled = true;
            if (call != null) call.cancel(message, cause);
        }
    }

    @Override
    public boolean isDone() {
        return done.get();
    }
}
