package dev.tessera.coordinator.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class CoalescerTest {

    @Test
    void signalsDuringARunCoalesceIntoOneMoreRunAndCloseRunsOnceMore() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        AtomicInteger runs = new AtomicInteger();
        BlockingQueue<Integer> started = new LinkedBlockingQueue<>();
        Coalescer coalescer = new Coalescer("test-coalescer", () -> {
            int n = runs.incrementAndGet();
            started.add(n);
            if (n == 1) {
                try {
                    release.await(10, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        });
        coalescer.start();
        coalescer.signal();
        assertEquals(1, started.poll(10, TimeUnit.SECONDS));
        for (int i = 0; i < 5; i++) coalescer.signal();
        release.countDown();
        assertEquals(2, started.poll(10, TimeUnit.SECONDS), "five signals during run 1 give one more run");
        coalescer.close();
        assertEquals(3, runs.get(), "close runs the action a last time, then stops");
        assertEquals(3, started.poll());
        coalescer.signal();                     // the thread has ended: nothing runs any more
        assertTrue(started.isEmpty());
    }

    @Test
    void aTimedSignalRunsTheActionLater() throws Exception {
        BlockingQueue<Long> runs = new LinkedBlockingQueue<>();
        long start = System.nanoTime();
        try (Coalescer coalescer = new Coalescer("test-timer", () -> runs.add(System.nanoTime()))) {
            coalescer.start();
            coalescer.signalAfter(java.time.Duration.ofMillis(100));
            Long at = runs.poll(10, TimeUnit.SECONDS);
            assertTrue(at != null && at - start >= TimeUnit.MILLISECONDS.toNanos(100), "ran after the delay");
        }
    }
}
