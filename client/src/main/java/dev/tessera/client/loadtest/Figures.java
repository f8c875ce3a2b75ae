package dev.tessera.client.loadtest;

import java.math.BigDecimal;
import java.math.MathContext;
import java.util.Comparator;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * Formats a report's figures for humans, the same way in the Markdown and the HTML report. Every method maps a
 * missing figure (NaN, or a distribution with no values) to {@link #MISSING}; none depends on the default locale.
 */
final class Figures {

    /** What a table shows where there is no figure. */
    static final String MISSING = "–";

    private Figures() {}

    /**
     * A latency or a rate with about three significant figures: 0.42, 7.25, 42.5, 1234.
     * NOTE: large values keep every integer digit; rounding 1234 ms to "1.23k" would hide a jump in a table.
     */
    static String number(double v) {
        if (!Double.isFinite(v)) return MISSING;
        double a = Math.abs(v);
        String pattern = a == 0 || a >= 100 ? "%.0f" : a >= 10 ? "%.1f" : a >= 1 ? "%.2f" : "%.3f";
        return String.format(Locale.ROOT, pattern, v);
    }

    /** One percentile of a distribution, or {@link #MISSING} when it recorded nothing. */
    static String ms(Percentiles p, double value) {
        return p == null || p.count() == 0 ? MISSING : number(value);
    }

    /** A fraction as a percentage with one decimal: "97.5%". */
    static String percent(double fraction) {
        return Double.isFinite(fraction) ? String.format(Locale.ROOT, "%.1f%%", fraction * 100) : MISSING;
    }

    /** The offered load alone: "4", "0.5", "12.25" (a rate) or "8" (a concurrency). */
    static String load(LoadLevel level) {
        return level.openLoop() ? compact(level.offeredRate()) : Integer.toString(level.concurrency());
    }

    /**
     * A level's name: "rate 4/s", "rate 0.5/s" or "concurrency 8".
     * NOTE: not {@link LoadLevel#label()}, whose "%.4g" prints 4 as "4.000" and 16 as "16.00".
     */
    static String level(LoadLevel level) {
        return level.openLoop() ? "rate " + compact(level.offeredRate()) + "/s" : "concurrency " + level.concurrency();
    }

    /** Up to four significant digits, no trailing zeros, no exponent: "4", "0.5", "1234", "0.0001". */
    static String compact(double v) {
        if (!Double.isFinite(v)) return MISSING;
        if (v == 0) return "0";
        return BigDecimal.valueOf(v).round(new MathContext(4)).stripTrailingZeros().toPlainString();
    }

    /** An axis tick: three significant digits with a k/M/G suffix from a thousand on: "0.25", "40", "2.5k", "1M". */
    static String tick(double v) {
        if (v == 0) return "0";
        double a = Math.abs(v);
        if (a >= 1e9) return compact3(v / 1e9) + "G";
        if (a >= 1e6) return compact3(v / 1e6) + "M";
        if (a >= 1e3) return compact3(v / 1e3) + "k";
        return compact3(v);
    }

    private static String compact3(double v) {
        return BigDecimal.valueOf(v).round(new MathContext(3)).stripTrailingZeros().toPlainString();
    }

    /** "0", or "4: http 429 ×3, timeout ×1" (most frequent kind first). */
    static String errors(long failed, Map<String, Long> byKind) {
        if (failed == 0 && (byKind == null || byKind.isEmpty())) return "0";
        if (byKind == null || byKind.isEmpty()) return Long.toString(failed);
        String kinds = byKind.entrySet().stream()
                .sorted(Map.Entry.<String, Long>comparingByValue(Comparator.reverseOrder())
                        .thenComparing(Map.Entry.comparingByKey()))
                .map(e -> e.getKey() + " ×" + e.getValue())
                .collect(Collectors.joining(", "));
        return failed + ": " + kinds;
    }

    /** The model asked for, or a word saying the server chose. */
    static String model(String model) {
        return model == null || model.isBlank() ? "(server default)" : model;
    }

    /** The simulated workers' label: "SIMULATED workers: fixed 20 ms/token". */
    static String simulated(RunInfo run) {
        String model = run.latencyModel() == null || run.latencyModel().isBlank()
                ? "(latency model not recorded)" : run.latencyModel();
        return "SIMULATED workers: " + model;
    }

    /** Seconds: "30 s", "0.5 s". */
    static String seconds(double s) {
        return compact(s) + " s";
    }
}
