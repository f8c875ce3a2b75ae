package dev.tessera.client.loadtest;

import java.util.Arrays;

/**
 * What one request did, in {@link System#nanoTime()} units: when it was sent, when each message of tokens arrived
 * and how many tokens it carried, when it ended and how. Written by one target callback at a time; read after
 * {@link #isFinished()}.
 */
public final class RequestTimeline {

    private final LoadRequest request;
    private final long startNanos;
    private long[] arrivals = new long[16];
    private int[] counts = new int[16];
    private int messages;
    private int tokens;
    private volatile boolean finished;
    private long endNanos;
    private String error;
    private int promptTokens;
    private Runnable onFinish;
    private volatile Runnable canceller;
    private final java.util.concurrent.CountDownLatch ended = new java.util.concurrent.CountDownLatch(1);

    public RequestTimeline(LoadRequest request, long startNanos) {
        this.request = request;
        this.startNanos = startNanos;
        this.promptTokens = request.promptTokens();
    }

    /** A message with {@code count} tokens arrived. */
    public synchronized void onTokens(int count, long nanos) {
        if (finished || count <= 0) return;
        if (messages == arrivals.length) {
            arrivals = Arrays.copyOf(arrivals, messages * 2);
            counts = Arrays.copyOf(counts, messages * 2);
        }
        arrivals[messages] = nanos;
        counts[messages++] = count;
        tokens += count;
    }

    /**
     * The request ended. {@code error} is null on success, else its kind ("UNAVAILABLE", "http 429", ...);
     * {@code outputTokens} is the server's count when it reports one (else -1: the tokens seen are counted).
     */
    public synchronized void finish(long nanos, String error, int outputTokens, int serverPromptTokens) {
        if (finished) return;
        endNanos = nanos;
        this.error = error;
        if (outputTokens >= 0) tokens = outputTokens;
        if (serverPromptTokens > 0) promptTokens = serverPromptTokens;
        finished = true;
        ended.countDown();
        if (onFinish != null) onFinish.run();
    }

    /** How the target abandons this request (cancels the call, closes the stream); set by the target. */
    public void cancelWith(Runnable cancel) { this.canceller = cancel; }

    /** Ends a request that ran out of time as failed ({@code error}) and tells the target to stop it. */
    public void abandon(String error) {
        finish(System.nanoTime(), error, -1, 0);
        Runnable c = canceller;
        if (c != null) c.run();
    }

    /** Runs {@code action} when the request ends (set before sending it). */
    public synchronized void whenFinished(Runnable action) { this.onFinish = action; }

    /** Waits until the request ends; false on timeout. */
    public boolean awaitFinish(long nanos) throws InterruptedException {
        return ended.await(nanos, java.util.concurrent.TimeUnit.NANOSECONDS);
    }

    public boolean isFinished() { return finished; }

    public LoadRequest request() { return request; }

    public long startNanos() { return startNanos; }

    public synchronized long endNanos() { return endNanos; }

    public synchronized String error() { return error; }

    public synchronized boolean ok() { return finished && error == null; }

    public synchronized int outputTokens() { return tokens; }

    public synchronized int promptTokens() { return promptTokens; }

    /** Time to first token, ns, or -1 when no token came. */
    public synchronized long ttftNanos() { return messages == 0 ? -1 : arrivals[0] - startNanos; }

    /** Mean time per output token after the first, ns, or -1 with fewer than two tokens. */
    public synchronized long tpotNanos() {
        if (messages == 0 || tokens < 2) return -1;
        return (arrivals[messages - 1] - arrivals[0]) / (tokens - 1);
    }

    /**
     * Every inter-token gap, ns: between consecutive messages, and 0 for each further token of a message that
     * carried several (those tokens arrived together).
     */
    public synchronized long[] gapsNanos() {
        int n = 0;
        for (int i = 0; i < messages; i++) n += counts[i];
        if (n < 2) return new long[0];
        long[] gaps = new long[n - 1];
        int g = 0;
        for (int i = 0; i < messages; i++) {
            if (i > 0) gaps[g++] = arrivals[i] - arrivals[i - 1];
            for (int k = 1; k < counts[i]; k++) gaps[g++] = 0;
        }
        return gaps;
    }
}
