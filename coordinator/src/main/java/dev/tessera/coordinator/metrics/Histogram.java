package dev.tessera.coordinator.metrics;

import java.util.Arrays;
import java.util.concurrent.atomic.DoubleAdder;
import java.util.concurrent.atomic.LongAdder;

/**
 * One histogram series with fixed bucket bounds: lock-free observations (a binary search and two adder updates),
 * read as cumulative counts at scrape time.
 *
 * <p>NOTE: the bucket counts are kept per bucket (not cumulative) and the total count is their sum, so a scrape
 * always sees a non-decreasing bucket sequence whose {@code +Inf} bucket equals {@code _count}, even while other
 * threads observe. {@code _sum} is read separately and may include an observation the buckets do not yet show.
 */
final class Histogram {

    private final double[] bounds;
    private final LongAdder[] counts; // counts[i]: observations in (bounds[i-1], bounds[i]]; the last one: above every bound
    private final DoubleAdder sum = new DoubleAdder();

    /** @param bounds finite, strictly increasing upper bounds; {@code +Inf} is implied */
    Histogram(double[] bounds) {
        this.bounds = checkBounds(bounds);
        this.counts = new LongAdder[bounds.length + 1];
        for (int i = 0; i < counts.length; i++) counts[i] = new LongAdder();
    }

    static double[] checkBounds(double[] bounds) {
        if (bounds.length == 0) throw new IllegalArgumentException("a histogram needs at least one bucket bound");
        for (int i = 0; i < bounds.length; i++) {
            if (!Double.isFinite(bounds[i])) throw new IllegalArgumentException("bucket bounds must be finite, got " + bounds[i]);
            if (i > 0 && bounds[i] <= bounds[i - 1])
                throw new IllegalArgumentException("bucket bounds must increase strictly: " + Arrays.toString(bounds));
        }
        return bounds.clone();
    }

    /** Counts one value into the first bucket whose bound is at least {@code v}. NaN is ignored. */
    void observe(double v) {
        if (Double.isNaN(v)) return;
        int i = Arrays.binarySearch(bounds, v);
        counts[i >= 0 ? i : -i - 1].increment();
        sum.add(v);
    }

    double[] bounds() { return bounds.clone(); }

    /** Cumulative counts, one per bound and a last one for {@code +Inf} (the total count). */
    long[] cumulativeCounts() {
        long[] out = new long[counts.length];
        long running = 0;
        for (int i = 0; i < counts.length; i++) {
            running += counts[i].sum();
            out[i] = running;
        }
        return out;
    }

    double sum() { return sum.sum(); }
}
