package dev.tessera.client.loadtest;

import org.HdrHistogram.Histogram;

/**
 * A latency distribution's summary, in milliseconds.
 *
 * @param count how many values were recorded
 * @param mean  their mean
 * @param p50   median
 * @param p90   90th percentile
 * @param p95   95th percentile
 * @param p99   99th percentile
 * @param max   largest value
 */
public record Percentiles(long count, double mean, double p50, double p90, double p95, double p99, double max) {

    public static final Percentiles EMPTY = new Percentiles(0, 0, 0, 0, 0, 0, 0);

    /** From a histogram of microseconds (HdrHistogram keeps 3 significant digits). */
    public static Percentiles ofMicros(Histogram micros) {
        if (micros.getTotalCount() == 0) return EMPTY;
        return new Percentiles(micros.getTotalCount(), micros.getMean() / 1e3,
                micros.getValueAtPercentile(50) / 1e3, micros.getValueAtPercentile(90) / 1e3,
                micros.getValueAtPercentile(95) / 1e3, micros.getValueAtPercentile(99) / 1e3, micros.getMaxValue() / 1e3);
    }
}
