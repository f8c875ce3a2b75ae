package dev.tessera.coordinator.metrics;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;

/**
 * A counter family: one monotonically increasing count per combination of label values, created on first use.
 * Lock-free once a series exists.
 */
final class CounterFamily {

    private final String name;
    private final String help;
    private final List<String> labelNames;
    private final ConcurrentHashMap<List<String>, LongAdder> series = new ConcurrentHashMap<>();

    /** @param name the sample name, ending in {@code _total} by convention */
    CounterFamily(String name, String help, String... labelNames) {
        this.name = TextFormat.metricName(name);
        this.help = help;
        this.labelNames = List.of(labelNames);
        this.labelNames.forEach(TextFormat::labelName);
    }

    /** Adds {@code n} (at least 0) to the series with these label values. */
    void add(long n, String... labelValues) {
        if (n < 0) throw new IllegalArgumentException(name + " is a counter; it cannot decrease by " + -n);
        series(labelValues).add(n);
    }

    void increment(String... labelValues) { series(labelValues).increment(); }

    /** Makes the series exist at 0, so that rates over it start from the first scrape. */
    void touch(String... labelValues) { series(labelValues); }

    /** The series' count, 0 when it does not exist. */
    long value(String... labelValues) {
        LongAdder a = series.get(List.of(labelValues));
        return a == null ? 0 : a.sum();
    }

    private LongAdder series(String... labelValues) {
        if (labelValues.length != labelNames.size())
            throw new IllegalArgumentException(name + " has labels " + labelNames + ", got " + labelValues.length + " values");
        List<String> key = List.of(labelValues); // rejects null values
        LongAdder a = series.get(key);
        return a != null ? a : series.computeIfAbsent(key, k -> new LongAdder());
    }

    void writeTo(StringBuilder out) {
        TextFormat.header(out, name, "counter", help);
        List<Map.Entry<List<String>, LongAdder>> sorted = new ArrayList<>(series.entrySet());
        sorted.sort(Map.Entry.comparingByKey(TextFormat.SERIES_ORDER));
        for (Map.Entry<List<String>, LongAdder> e : sorted)
            TextFormat.sample(out, name, labelNames, e.getKey(), null, null, Long.toString(e.getValue().sum()));
    }
}
