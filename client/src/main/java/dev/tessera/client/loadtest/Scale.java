package dev.tessera.client.loadtest;

import java.util.ArrayList;
import java.util.List;

/**
 * Maps a chart axis's values onto [0, 1], linearly or by decades, and picks its ticks.
 *
 * @param min the axis's lowest value (positive on a log scale)
 * @param max the axis's highest value, above {@code min}
 * @param log whether the axis is logarithmic
 */
record Scale(double min, double max, boolean log) {

    /** Values spanning at least this ratio get a log axis where one is allowed. */
    static final double LOG_RATIO = 100;

    Scale {
        if (!(Double.isFinite(min) && Double.isFinite(max) && max > min))
            throw new IllegalArgumentException("an axis needs finite min < max, got " + min + ".." + max);
        if (log && min <= 0) throw new IllegalArgumentException("a log axis needs min > 0, got " + min);
    }

    /**
     * An axis that fits the finite values given.
     *
     * @param fromZero   whether a linear axis starts at 0 (throughput, latency) rather than at the smallest value
     * @param logAllowed whether a log axis may be chosen: it is when the positive values span {@link #LOG_RATIO} or
     *                   more, since a linear axis would squash all but the largest values against zero
     */
    static Scale fit(double[] values, boolean fromZero, boolean logAllowed) {
        double lo = Double.POSITIVE_INFINITY, hi = Double.NEGATIVE_INFINITY, minPositive = Double.POSITIVE_INFINITY;
        for (double v : values) {
            if (!Double.isFinite(v)) continue;
            lo = Math.min(lo, v);
            hi = Math.max(hi, v);
            if (v > 0) minPositive = Math.min(minPositive, v);
        }
        if (lo > hi) return new Scale(0, 1, false);
        if (logAllowed && hi > 0 && hi / minPositive >= LOG_RATIO) {
            return new Scale(Math.pow(10, Math.floor(Math.log10(minPositive))),
                    Math.pow(10, Math.ceil(Math.log10(hi))), true);
        }
        if (fromZero) {
            lo = Math.min(lo, 0);
            hi = Math.max(hi, 0);
        }
        if (hi == lo) {
            // NOTE: a single value (one level, or equal values) gets an axis around it rather than a zero-width one
            double pad = lo == 0 ? 1 : Math.abs(lo) / 2;
            hi = hi + pad;
            if (!fromZero || lo < 0) lo = lo - pad;
        }
        double step = niceStep((hi - lo) / 5);
        double top = Math.ceil(hi / step) * step;
        // NOTE: a largest value right on a round bound (8 of 0..8) gets one more step, rather than sit on the frame
        if (hi > 0 && top == hi) top += step;
        return new Scale(Math.floor(lo / step) * step, top, false);
    }

    /** A fixed linear axis, such as [0, 1] for cumulative fractions. */
    static Scale linear(double min, double max) {
        return new Scale(min, max, false);
    }

    /** Where {@code v} falls on the axis, in [0, 1]; values outside it are clamped to its ends. */
    double fraction(double v) {
        double f = log ? (Math.log10(Math.max(v, min)) - Math.log10(min)) / (Math.log10(max) - Math.log10(min))
                : (v - min) / (max - min);
        return Math.clamp(f, 0.0, 1.0);
    }

    /** Whether {@code v} lies on the axis (else {@link #fraction} clamps it to an end). */
    boolean contains(double v) {
        return v >= min && v <= max;
    }

    /** Tick values: 1-2-5 steps on a linear axis, decades on a log one (every other decade beyond eight). */
    List<Double> ticks() {
        List<Double> ticks = new ArrayList<>();
        if (log) {
            int first = (int) Math.round(Math.log10(min)), last = (int) Math.round(Math.log10(max));
            int every = last - first > 8 ? 2 : 1;
            for (int e = first; e <= last; e += every) ticks.add(Math.pow(10, e));
            return ticks;
        }
        double step = niceStep((max - min) / 5);
        for (long i = Math.round(Math.ceil(min / step - 1e-9)); i * step <= max + step * 1e-9; i++) ticks.add(i * step);
        return ticks;
    }

    /** The 1, 2 or 5 times a power of ten nearest above {@code raw}. */
    static double niceStep(double raw) {
        if (!(raw > 0)) return 1;
        double magnitude = Math.pow(10, Math.floor(Math.log10(raw)));
        double r = raw / magnitude;
        return (r <= 1 ? 1 : r <= 2 ? 2 : r <= 5 ? 5 : 10) * magnitude;
    }
}
