package dev.tessera.coordinator.metrics;

import java.util.Comparator;
import java.util.List;

/**
 * Writes the Prometheus text exposition format, version 0.0.4: {@code # HELP} and {@code # TYPE} lines, then one
 * line per sample, {@code name{label="value",...} number}. Pure functions over a {@link StringBuilder}.
 */
final class TextFormat {

    /** The Content-Type a {@code /metrics} response carries. */
    static final String CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

    /** Series in a stable order: by their label values, left to right. */
    static final Comparator<List<String>> SERIES_ORDER = (a, b) -> {
        for (int i = 0; i < Math.min(a.size(), b.size()); i++) {
            int c = a.get(i).compareTo(b.get(i));
            if (c != 0) return c;
        }
        return Integer.compare(a.size(), b.size());
    };

    private TextFormat() {}

    /** Checks a metric name: {@code [a-zA-Z_:][a-zA-Z0-9_:]*}. */
    static String metricName(String name) {
        if (name == null || name.isEmpty()) throw new IllegalArgumentException("a metric needs a name");
        for (int i = 0; i < name.length(); i++) {
            char c = name.charAt(i);
            boolean ok = c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || c == ':' || i > 0 && c >= '0' && c <= '9';
            if (!ok) throw new IllegalArgumentException("invalid metric name \"" + name + "\"");
        }
        return name;
    }

    /** Checks a label name: {@code [a-zA-Z_][a-zA-Z0-9_]*}, not starting with {@code __} (reserved). */
    static String labelName(String name) {
        if (name == null || name.isEmpty() || name.startsWith("__")) throw new IllegalArgumentException("invalid label name \"" + name + "\"");
        for (int i = 0; i < name.length(); i++) {
            char c = name.charAt(i);
            boolean ok = c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || i > 0 && c >= '0' && c <= '9';
            if (!ok) throw new IllegalArgumentException("invalid label name \"" + name + "\"");
        }
        return name;
    }

    /** The {@code # HELP} and {@code # TYPE} lines that open a family. */
    static void header(StringBuilder out, String name, String type, String help) {
        out.append("# HELP ").append(name).append(' ');
        for (int i = 0; i < help.length(); i++) {
            char c = help.charAt(i);
            switch (c) {
                case '\\' -> out.append("\\\\");
                case '\n' -> out.append("\\n");
                default -> out.append(c);
            }
        }
        out.append('\n').append("# TYPE ").append(name).append(' ').append(type).append('\n');
    }

    /**
     * One sample line. {@code extraName}/{@code extraValue} is an optional last label (a histogram bucket's
     * {@code le}); null for none.
     */
    static void sample(StringBuilder out, String name, List<String> labelNames, List<String> labelValues,
                       String extraName, String extraValue, String value) {
        out.append(name);
        if (!labelNames.isEmpty() || extraName != null) {
            out.append('{');
            for (int i = 0; i < labelNames.size(); i++) {
                if (i > 0) out.append(',');
                label(out, labelNames.get(i), labelValues.get(i));
            }
            if (extraName != null) {
                if (!labelNames.isEmpty()) out.append(',');
                label(out, extraName, extraValue);
            }
            out.append('}');
        }
        out.append(' ').append(value).append('\n');
    }

    private static void label(StringBuilder out, String name, String value) {
        out.append(name).append("=\"");
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            switch (c) {
                case '\\' -> out.append("\\\\");
                case '"' -> out.append("\\\"");
                case '\n' -> out.append("\\n");
                default -> out.append(c);
            }
        }
        out.append('"');
    }

    /**
     * A sample value or bucket bound as Prometheus parses it: {@code +Inf}, {@code -Inf}, {@code NaN}, whole
     * numbers without a fraction, others as Java prints them ({@code 0.25}, {@code 1.0E-4}: Go's float parser
     * reads both).
     */
    static String number(double v) {
        if (Double.isNaN(v)) return "NaN";
        if (Double.isInfinite(v)) return v > 0 ? "+Inf" : "-Inf";
        if (v == Math.rint(v) && Math.abs(v) < 1e15) return Long.toString((long) v);
        return Double.toString(v);
    }
}
