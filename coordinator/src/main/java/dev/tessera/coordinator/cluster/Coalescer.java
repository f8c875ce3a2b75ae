package dev.tessera.coordinator.cluster;

import java.time.Duration;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs one action on its own thread whenever it is signalled. Signals that arrive while the action runs are
 * coalesced into one more run, so no queue builds up however often ZooKeeper fires: the action must therefore be
 * level-triggered (read the current state and act on it), never rely on seeing every event.
 *
 * <p>Contract: the action never runs concurrently with itself, and every signal is followed by at least one run that
 * starts after it. {@link #close()} makes the action run one last time (so it can see that the owner is closing and
 * clean up), then stops the thread.
 *
 * <p>NOTE: a coalescing flag instead of an executor queue: ZooKeeper events are bursts of "something changed", and
 * the owner's state is what matters, so an unbounded queue of stale events buys nothing.
 */
final class Coalescer implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(Coalescer.class);
    private static final Duration CLOSE_WAIT = Duration.ofSeconds(30);

    private final Runnable action;
    private final Thread thread;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition wake = lock.newCondition();
    private boolean signalled;
    private boolean closing;
    private long timerDeadline;    // System.nanoTime() at which a timed signal fires; valid when timerSet
    private boolean timerSet;

    Coalescer(String threadName, Runnable action) {
        this.action = action;
        this.thread = Thread.ofPlatform().name(threadName).daemon().unstarted(this::loop);
    }

    void start() {
        thread.start();
    }

    /** Asks for one more run of the action. Never blocks. */
    void signal() {
        lock.lock();
        try {
            signalled = true;
            wake.signal();
        } finally {
            lock.unlock();
        }
    }

    /** Asks for a run no later than {@code delay} from now (earlier if signalled meanwhile). */
    void signalAfter(Duration delay) {
        lock.lock();
        try {
            long at = System.nanoTime() + delay.toNanos();
            if (!timerSet || at - timerDeadline < 0) timerDeadline = at;
            timerSet = true;
            wake.signal();
        } finally {
            lock.unlock();
        }
    }

    /** True on the action's own thread. */
    boolean onThread() {
        return Thread.currentThread() == thread;
    }

    /**
     * Runs the action a last time and stops the thread, waiting up to 30 s for it (not waiting when called from the
     * action itself). Idempotent.
     */
    @Override
    public void close() {
        lock.lock();
        try {
            if (closing) return;
            closing = true;
            wake.signal();
        } finally {
            lock.unlock();
        }
        if (onThread() || !thread.isAlive()) return;
        try {
            if (!thread.join(CLOSE_WAIT)) log.warn("{} did not stop within {} s", thread.getName(), CLOSE_WAIT.toSeconds());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private void loop() {
        while (true) {
            boolean last;
            lock.lock();
            try {
                while (!signalled && !closing) {
                    if (!timerSet) {
                        wake.awaitUninterruptibly();
                    } else {
                        long left = timerDeadline - System.nanoTime();
                        if (left <= 0) {
                            timerSet = false;
                            break;
                        }
                        try {
                            wake.awaitNanos(left);
                        } catch (InterruptedException e) {
                            Thread.currentThread().interrupt();
                            closing = true;
                        }
                    }
                }
                signalled = false;
                last = closing;
            } finally {
                lock.unlock();
            }
            try {
                action.run();
            } catch (RuntimeException e) {
                log.error("{} failed; it runs again on the next change", thread.getName(), e);
            }
            if (last) return;
        }
    }
}
