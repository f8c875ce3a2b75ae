package dev.tessera.coordinator.metrics;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A histogram family: one {@link Histogram} per combination of label values, all with the same bucket bounds,
 * written as cumulative {@code _bucket{le=...}} lines (ending with {@code +Inf}), {@code _sum} and {@code _count}.
 */
final class HistogramFamily {

    private final String name;
    private final String help;
    private final double[] bounds;
    private final List<String> labelNames;
    private final ConcurrentHashMap<List<String>, Histogram> series = new ConcurrentHashMap<>();

    HistogramFamily(String name, String help, double[] bounds, String... labelNames) {
        this.name = TextFormat.metricName(name);
        this.help = help;
        this.bounds = Histogram.checkBounds(bounds);
        this.labelNames = List.of(labelNames);
        this.labelNames.forEach(TextFormat::labelName);
        if (this.labelNames.contains("le")) throw new IllegalArgumentException("\"le\" is the bucket label of " + name);
    }

    void observe(double value, String... labelValues) {
        if (labelValues.length != labelNames.size())
            throw new IllegalArgumentException(name + " has labels " + labelNames + ", got " + labelValues.length + " values");
        List<String> key = List.of(labelValues);
        Histogram h = series.get(key);
        if (h == null) h = series.computeIfAbsent(key, k -> new Histogram(bounds));
        h.observe(value);
    }

    /** Observations in the series, 0 when it does not exist. */
    long count(String... labelValues) {
        Histogram h = series.get(List.of(labelValues));
        return h == null ? 0 : h.cumulativeCounts()[bounds.length];
    }

    void writeTo(StringBuilder out) {
        TextFormat.header(out, name, "histogram", help);
        List<Map.Entry<List<String>, Histogram>> sorted = new ArrayList<>(series.entrySet());
        sorted.sort(Map.Entry.comparingByKey(TextFormat.SERIES_ORDER));
        for (Map.Entry<List<String>, Histogram> e : sorted) {
            List<String> values = e.getKey();
            long[] cumulative = e.getValue().cumulativeCounts();
            for (int i = 0; i < bounds.length; i++)
                TextFormat.sample(out, name + "_bucket", labelNames, values, "le", TextFormat.number(bounds[i]), Long.toString(cumulative[i]));
            TextFormat.sample(out, name + "_bucket", labelNames, values, "le", "+Inf", Long.toString(cumulative[bounds.length]));
            TextFormat.sample(out, name + "_sum", labelNames, values, null, null, TextFormat.number(e.getValue().sum()));
            TextFormat.sample(out, name + "_count", labelNames, values, null, null, Long.toString(cumulative[bounds.length]));
        }
    }
}
