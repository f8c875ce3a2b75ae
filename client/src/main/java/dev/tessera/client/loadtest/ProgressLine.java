package dev.tessera.client.loadtest;

import java.io.PrintStream;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The live line a run prints while it goes: elapsed time, requests sent, done and in flight, errors, output tokens
 * per second over the last second. On a terminal it rewrites one line; otherwise (a log, CI) it prints a line
 * every few seconds.
 */
final class ProgressLine implements AutoCloseable {

    final AtomicLong sent = new AtomicLong(), done = new AtomicLong(), errors = new AtomicLong(), tokens = new AtomicLong();
    private final PrintStream out;
    private final String label;
    private final boolean terminal;
    private final long start = System.nanoTime();
    private final Thread ticker;
    private volatile boolean closed;

    ProgressLine(PrintStream out, String label, boolean terminal) {
        this.out = out;
        this.label = label;
        this.terminal = terminal;
        this.ticker = Thread.ofPlatform().daemon().name("loadtest-progress").start(this::tick);
    }

    private void tick() {
        long lastTokens = 0, lastNanos = start;
        int ticks = 0;
        while (!closed) {
            try {
                Thread.sleep(1000);
            } catch (InterruptedException e) {
                return;
            }
            long now = System.nanoTime(), t = tokens.get();
            double rate = (t - lastTokens) / ((now - lastNanos) / 1e9);
            lastTokens = t;
            lastNanos = now;
            if (terminal || ++ticks % 5 == 0) print(now, rate);
        }
    }

    private synchronized void print(long now, double tokensPerSecond) {
        String line = String.format(Locale.ROOT, "[%s] %5.1f s  sent %d  done %d  in flight %d  errors %d  %.0f tok/s",
                label, (now - start) / 1e9, sent.get(), done.get(), sent.get() - done.get(), errors.get(), tokensPerSecond);
        if (terminal) out.print("\r" + line + "   ");
        else out.println(line);
        out.flush();
    }

    @Override
    public void close() {
        closed = true;
        ticker.interrupt();
        try {
            ticker.join(); // a tick under way must not print after the level's summary line
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (terminal) {
            print(System.nanoTime(), 0);
            out.println();
        }
    }
}
