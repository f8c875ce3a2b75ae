package dev.tessera.client;

import dev.tessera.proto.v1.GenerateResponse;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.util.Iterator;
import java.util.NoSuchElementException;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.function.Function;

/**
 * A Generate call read by pulling: iterate over its messages, then read {@link #completion()}. Close it (in
 * try-with-resources) to cancel a call that has not finished; the server sees the cancellation.
 *
 * <p>Flow control: one message is requested from the server at a time, when the previous one has been handed out,
 * so a slow reader slows the server's stream down (the server coalesces tokens) instead of filling memory.
 *
 * <p>Threads: read it from one thread. {@link #close()} may be called from any thread; a reader blocked in
 * {@link #hasNext()} then gets a CANCELLED {@link StatusRuntimeException}.
 */
public final class GenerationStream implements Iterator<GenerateResponse>, AutoCloseable {

    // NOTE: two slots suffice: at most one message is requested and not yet handed out, plus the end of the call.
    private final BlockingQueue<Object> events = new ArrayBlockingQueue<>(2);
    private final GenerateCall call;
    private GenerateResponse next;
    private Completion completion;
    private StatusRuntimeException error;

    /** @param start starts the call with the given listener and flow control of one message at a time */
    GenerationStream(Function<GenerationListener, GenerateCall> start) {
        this.call = start.apply(new Listener());
    }

    private final class Listener implements GenerationListener {
        @Override
        public void onChunk(GenerateResponse chunk) {
            offer(chunk);
        }

        @Override
        public void onComplete(Completion c) {
            offer(c);
        }

        @Override
        public void onError(StatusRuntimeException e) {
            offer(e);
        }

        private void offer(Object event) {
            if (!events.offer(event))
                throw new IllegalStateException("a GenerationStream received more messages than it requested");
        }
    }

    /**
     * Waits for the next message.
     *
     * @return false once the call has ended with its final message and status OK
     * @throws StatusRuntimeException when the call failed (server status, DEADLINE_EXCEEDED, CANCELLED...); again on
     *                                every later call
     */
    @Override
    public boolean hasNext() {
        if (next != null) return true;
        if (completion != null) return false;
        if (error != null) throw error;
        Object event;
        try {
            event = events.take();
        } catch (InterruptedException e) {
            call.cancel();
            Thread.currentThread().interrupt();
            error = Status.CANCELLED.withDescription("interrupted while waiting for the next message; the call was cancelled")
                    .withCause(e).asRuntimeException();
            throw error;
        }
        switch (event) {
            case GenerateResponse r -> next = r;
            case Completion c -> completion = c;
            case StatusRuntimeException e -> error = e;
            default -> throw new AssertionError(event);
        }
        if (error != null) throw error;
        return next != null;
    }

    /** The next message; the last one carries the finish reason and usage. */
    @Override
    public GenerateResponse next() {
        if (!hasNext()) throw new NoSuchElementException("the generation has finished");
        GenerateResponse r = next;
        next = null;
        call.request(1);
        return r;
    }

    /**
     * Reads the messages not read yet and returns the whole completion (all messages, read or not).
     *
     * @throws StatusRuntimeException when the call failed
     */
    public Completion completion() {
        while (hasNext()) next();
        return completion;
    }

    /** Cancels the call unless it has ended. Idempotent. */
    @Override
    public void close() {
        call.cancel();
    }
}
