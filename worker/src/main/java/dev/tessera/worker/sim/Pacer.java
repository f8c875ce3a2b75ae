package dev.tessera.worker.sim;

import java.util.concurrent.locks.LockSupport;

/**
 * The clock a simulated stage paces its steps by. {@link #SYSTEM} parks the calling thread until the deadline (no
 * busy spinning: a simulated cluster of 64 stages on two cores must leave the cores to the coordinator it measures);
 * tests pass one that records the deadlines instead of waiting.
 */
public interface Pacer {

    /** Monotonic nanoseconds, as {@link System#nanoTime()}. */
    long nanoTime();

    /**
     * Returns once {@link #nanoTime()} has reached {@code deadline}, or early, with the thread's interrupt flag set,
     * when the thread is interrupted.
     */
    void sleepUntil(long deadline);

    /** Real time: {@link LockSupport#parkNanos} until the deadline (typically late by tens of microseconds). */
    Pacer SYSTEM = new Pacer() {
        @Override
        public long nanoTime() { return System.nanoTime(); }

        @Override
        public void sleepUntil(long deadline) {
            for (long left = deadline - System.nanoTime(); left > 0; left = deadline - System.nanoTime()) {
                if (Thread.currentThread().isInterrupted()) return;
                LockSupport.parkNanos(this, left);
            }
        }

        @Override
        public String toString() { return "system clock"; }
    };
}
