package dev.tessera.worker.backend;

import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;

/**
 * A fixed team of daemon threads ({@code tessera-cpu-1 .. tessera-cpu-(n-1)}) that runs one data-parallel loop at a
 * time; the calling thread is member 0 and takes part, so a team of {@code n} keeps {@code n} cores busy.
 *
 * <p>Contract: {@link #forEach} is called by one thread at a time (the backend's driver), is not re-entrant (a body
 * must not call it), and returns when every item is done; an exception thrown by the body on any member is rethrown
 * to the caller after the others finish. Items are handed out as contiguous chunks from a shared counter, so a slow
 * core does not hold the others back. After {@link #close()} the threads have ended and {@code forEach} throws
 * {@link IllegalStateException}.
 */
final class CpuThreads implements AutoCloseable {

    /** The body of a loop: items {@code [start, end)}, run on team member {@code member} (0 = the caller). */
    @FunctionalInterface
    interface Body {
        void run(int start, int end, int member);
    }

    // NOTE: idle members spin this long before parking. An op follows the previous one within microseconds in a
    // forward pass, and a park/unpark round trip costs tens of microseconds, so a short spin keeps decode fast.
    private static final long SPIN_NANOS = 50_000;
    // NOTE: more chunks than members lets the faster ones take the slack; 4 each keeps every chunk long enough for the
    // hardware prefetchers to stream weights.
    private static final int CHUNKS_PER_MEMBER = 4;

    private final Thread[] workers;
    private final AtomicInteger nextChunk = new AtomicInteger();
    private final AtomicInteger pending = new AtomicInteger();
    private final AtomicReference<Throwable> failure = new AtomicReference<>();
    private volatile long generation;
    private volatile boolean closed;
    private volatile Thread caller;
    private Body body;      // published by the volatile write of generation
    private int items, chunk, chunks;

    CpuThreads(int threads) {
        if (threads < 1) throw new IllegalArgumentException("threads must be at least 1, not " + threads);
        workers = new Thread[threads - 1];
        for (int i = 0; i < workers.length; i++) {
            int member = i + 1;
            workers[i] = new Thread(() -> workLoop(member), "tessera-cpu-" + member);
            workers[i].setDaemon(true);
            workers[i].start();
        }
    }

    /** Team size, the caller included. */
    int size() { return workers.length + 1; }

    /** The team's own threads (not the caller), for tests. */
    List<Thread> threads() { return List.of(workers); }

    /**
     * Runs {@code body} over items {@code [0, items)} in chunks whose starts are multiples of {@code align}; runs it
     * inline in one call when the team is a single thread or the whole loop is one chunk.
     */
    void forEach(int items, int align, Body body) {
        if (closed) throw new IllegalStateException("the CPU backend is closed");
        if (items <= 0) return;
        int chunk = align * Math.max(1, ceilDiv(ceilDiv(items, align), size() * CHUNKS_PER_MEMBER));
        if (workers.length == 0 || chunk >= items) {
            body.run(0, items, 0);
            return;
        }
        this.body = body;
        this.items = items;
        this.chunk = chunk;
        this.chunks = ceilDiv(items, chunk);
        nextChunk.set(0);
        failure.set(null);
        pending.set(workers.length);
        caller = Thread.currentThread();
        generation++;                                       // publishes the fields above
        for (Thread w : workers) LockSupport.unpark(w);
        runChunks(0);
        long spinUntil = System.nanoTime() + SPIN_NANOS;
        while (pending.get() > 0) {
            if (System.nanoTime() < spinUntil) Thread.onSpinWait();
            else LockSupport.park(this);
        }
        this.body = null;
        Throwable t = failure.get();
        if (t instanceof RuntimeException e) throw e;
        if (t instanceof Error e) throw e;
        if (t != null) throw new IllegalStateException(t);
    }

    private void runChunks(int member) {
        try {
            for (int c; (c = nextChunk.getAndIncrement()) < chunks; ) {
                int start = c * chunk;
                body.run(start, Math.min(items, start + chunk), member);
            }
        } catch (Throwable t) {
            failure.compareAndSet(null, t);
            nextChunk.set(Integer.MAX_VALUE / 2);           // the others stop taking chunks
        }
    }

    private void workLoop(int member) {
        long seen = 0;
        while (true) {
            long spinUntil = System.nanoTime() + SPIN_NANOS;
            while (generation == seen && !closed) {
                if (System.nanoTime() < spinUntil) Thread.onSpinWait();
                else LockSupport.park(this);
            }
            if (closed) return;
            seen = generation;
            runChunks(member);
            if (pending.decrementAndGet() == 0) LockSupport.unpark(caller);
        }
    }

    /** Stops the team's threads and waits (briefly) for them to end. Idempotent. */
    @Override
    public void close() {
        closed = true;
        for (Thread w : workers) LockSupport.unpark(w);
        for (Thread w : workers) {
            try {
                w.join(TimeUnit.SECONDS.toMillis(5));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    private static int ceilDiv(int a, int b) { return (a + b - 1) / b; }
}
