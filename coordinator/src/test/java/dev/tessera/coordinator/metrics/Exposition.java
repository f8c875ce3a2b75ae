package dev.tessera.coordinator.metrics;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * Prometheus text (exposition format 0.0.4) parsed back strictly, for tests: every family must open with one
 * {@code # HELP} and one {@code # TYPE} line, its samples must follow contiguously, label values must be properly
 * escaped, no series may repeat, and every histogram series must have cumulative {@code _bucket} lines ending in
 * {@code le="+Inf"} that equal its {@code _count}. Any violation throws {@link IllegalArgumentException}.
 */
public final class Exposition {

    /** One sample line: its name (with any histogram suffix), labels and value. */
    public record Sample(String name, Map<String, String> labels, double value) {}

    /** A family: its HELP text (unescaped), TYPE and samples in order. */
    public record Family(String name, String help, String type, List<Sample> samples) {}

    private final Map<String, Family> families = new LinkedHashMap<>();

    private Exposition() {}

    public static Exposition parse(String text) {
        Exposition e = new Exposition();
        e.read(text);
        e.checkHistograms();
        return e;
    }

    public Map<String, Family> families() { return families; }

    public Family family(String name) {
        Family f = families.get(name);
        if (f == null) throw new AssertionError("no family " + name + " in " + families.keySet());
        return f;
    }

    /** The value of the sample with exactly these labels; fails if there is none. */
    public double value(String sampleName, Map<String, String> labels) {
        for (Family f : families.values())
            for (Sample s : f.samples()) if (s.name().equals(sampleName) && s.labels().equals(labels)) return s.value();
        throw new AssertionError("no sample " + sampleName + labels);
    }

    public double value(String sampleName, String... labelPairs) { return value(sampleName, pairs(labelPairs)); }

    /** Whether a sample with exactly these labels exists. */
    public boolean has(String sampleName, String... labelPairs) {
        Map<String, String> labels = pairs(labelPairs);
        for (Family f : families.values())
            for (Sample s : f.samples()) if (s.name().equals(sampleName) && s.labels().equals(labels)) return true;
        return false;
    }

    public static Map<String, String> pairs(String... labelPairs) {
        if (labelPairs.length % 2 != 0) throw new IllegalArgumentException("label names and values come in pairs");
        Map<String, String> m = new TreeMap<>();
        for (int i = 0; i < labelPairs.length; i += 2) m.put(labelPairs[i], labelPairs[i + 1]);
        return m;
    }

    private void read(String text) {
        if (!text.isEmpty() && !text.endsWith("\n")) throw new IllegalArgumentException("the text must end with a newline");
        String current = null;
        Set<String> seriesSeen = new HashSet<>();
        for (String line : text.split("\n", -1)) {
            if (line.isEmpty()) continue;
            if (line.startsWith("# HELP ")) {
                String rest = line.substring(7);
                int sp = rest.indexOf(' ');
                String name = sp < 0 ? rest : rest.substring(0, sp);
                String help = sp < 0 ? "" : unescapeHelp(rest.substring(sp + 1));
                if (families.containsKey(name)) throw new IllegalArgumentException("family " + name + " opened twice");
                families.put(name, new Family(name, help, null, new ArrayList<>()));
                current = name;
            } else if (line.startsWith("# TYPE ")) {
                String[] parts = line.substring(7).split(" ");
                if (parts.length != 2) throw new IllegalArgumentException("bad TYPE line: " + line);
                Family f = families.get(parts[0]);
                if (f == null || !parts[0].equals(current)) throw new IllegalArgumentException("TYPE without its HELP first: " + line);
                if (f.type() != null) throw new IllegalArgumentException("second TYPE for " + parts[0]);
                if (!f.samples().isEmpty()) throw new IllegalArgumentException("TYPE after samples of " + parts[0]);
                if (!Set.of("counter", "gauge", "histogram", "summary", "untyped").contains(parts[1]))
                    throw new IllegalArgumentException("unknown type " + parts[1]);
                families.put(parts[0], new Family(f.name(), f.help(), parts[1], f.samples()));
            } else if (line.startsWith("#")) {
                throw new IllegalArgumentException("unexpected comment: " + line);
            } else {
                Sample s = sample(line);
                Family f = current == null ? null : families.get(current);
                if (f == null || f.type() == null || !belongs(s.name(), f))
                    throw new IllegalArgumentException("sample outside its family (HELP and TYPE first, contiguous): " + line);
                if (!seriesSeen.add(s.name() + new TreeMap<>(s.labels())))
                    throw new IllegalArgumentException("series repeated: " + line);
                f.samples().add(s);
            }
        }
        for (Family f : families.values()) if (f.type() == null) throw new IllegalArgumentException("family " + f.name() + " has no TYPE");
    }

    private static boolean belongs(String sample, Family f) {
        if (f.type().equals("histogram"))
            return sample.equals(f.name() + "_bucket") || sample.equals(f.name() + "_sum") || sample.equals(f.name() + "_count");
        return sample.equals(f.name());
    }

    private static Sample sample(String line) {
        int i = 0;
        while (i < line.length() && line.charAt(i) != '{' && line.charAt(i) != ' ') i++;
        String name = line.substring(0, i);
        if (!name.matches("[a-zA-Z_:][a-zA-Z0-9_:]*")) throw new IllegalArgumentException("bad metric name in: " + line);
        Map<String, String> labels = new LinkedHashMap<>();
        if (i < line.length() && line.charAt(i) == '{') {
            i++;
            while (line.charAt(i) != '}') {
                int eq = line.indexOf('=', i);
                String label = line.substring(i, eq);
                if (!label.matches("[a-zA-Z_][a-zA-Z0-9_]*")) throw new IllegalArgumentException("bad label name " + label + " in: " + line);
                if (line.charAt(eq + 1) != '"') throw new IllegalArgumentException("unquoted label value in: " + line);
                StringBuilder value = new StringBuilder();
                int j = eq + 2;
                for (; ; j++) {
                    if (j >= line.length()) throw new IllegalArgumentException("unterminated label value in: " + line);
                    char c = line.charAt(j);
                    if (c == '"') break;
                    if (c == '\\') {
                        char n = line.charAt(++j);
                        switch (n) {
                            case '\\' -> value.append('\\');
                            case '"' -> value.append('"');
                            case 'n' -> value.append('\n');
                            default -> throw new IllegalArgumentException("bad escape \\" + n + " in: " + line);
                        }
                    } else {
                        value.append(c);
                    }
                }
                if (labels.put(label, value.toString()) != null) throw new IllegalArgumentException("label repeated in: " + line);
                i = j + 1;
                if (line.charAt(i) == ',') i++;
                else if (line.charAt(i) != '}') throw new IllegalArgumentException("expected , or } in: " + line);
            }
            i++;
        }
        if (i >= line.length() || line.charAt(i) != ' ') throw new IllegalArgumentException("expected a space before the value: " + line);
        String v = line.substring(i + 1);
        if (v.contains(" ")) throw new IllegalArgumentException("timestamps are not expected: " + line);
        return new Sample(name, labels, number(v));
    }

    static double number(String v) {
        return switch (v) {
            case "+Inf" -> Double.POSITIVE_INFINITY;
            case "-Inf" -> Double.NEGATIVE_INFINITY;
            case "NaN" -> Double.NaN;
            default -> {
                if (!v.matches("-?[0-9]+(\\.[0-9]+)?([eE][-+]?[0-9]+)?")) throw new IllegalArgumentException("bad number " + v);
                yield Double.parseDouble(v);
            }
        };
    }

    private static String unescapeHelp(String s) {
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c != '\\') { out.append(c); continue; }
            char n = s.charAt(++i);
            switch (n) {
                case '\\' -> out.append('\\');
                case 'n' -> out.append('\n');
                default -> throw new IllegalArgumentException("bad escape in HELP: " + s);
            }
        }
        return out.toString();
    }

    /** Every histogram series: buckets by increasing le, cumulative, ending at +Inf = _count; a _sum present. */
    private void checkHistograms() {
        for (Family f : families.values()) {
            if (!f.type().equals("histogram")) continue;
            Map<Map<String, String>, List<Sample>> buckets = new LinkedHashMap<>();
            Map<Map<String, String>, Double> counts = new LinkedHashMap<>();
            Set<Map<String, String>> sums = new HashSet<>();
            for (Sample s : f.samples()) {
                Map<String, String> series = new TreeMap<>(s.labels());
                if (s.name().endsWith("_bucket")) {
                    if (series.remove("le") == null) throw new IllegalArgumentException("bucket without le: " + s);
                    buckets.computeIfAbsent(series, k -> new ArrayList<>()).add(s);
                } else if (s.name().endsWith("_count")) {
                    counts.put(series, s.value());
                } else {
                    sums.add(series);
                }
            }
            if (!buckets.keySet().equals(counts.keySet()) || !sums.equals(counts.keySet()))
                throw new IllegalArgumentException(f.name() + ": every series needs buckets, _sum and _count");
            buckets.forEach((series, list) -> {
                double lastLe = Double.NEGATIVE_INFINITY, lastCount = 0;
                for (Sample b : list) {
                    double le = number(b.labels().get("le"));
                    if (!(le > lastLe)) throw new IllegalArgumentException(f.name() + series + ": le not increasing at " + b);
                    if (b.value() < lastCount) throw new IllegalArgumentException(f.name() + series + ": buckets not cumulative at " + b);
                    lastLe = le;
                    lastCount = b.value();
                }
                if (lastLe != Double.POSITIVE_INFINITY) throw new IllegalArgumentException(f.name() + series + ": no +Inf bucket");
                if (lastCount != counts.get(series)) throw new IllegalArgumentException(f.name() + series + ": +Inf bucket != _count");
            });
        }
    }

    /** The cumulative count of the bucket {@code le} of a histogram series. */
    public double bucket(String family, String le, String... labelPairs) {
        Map<String, String> labels = new TreeMap<>(pairs(labelPairs));
        labels.put("le", le);
        return value(family + "_bucket", labels);
    }
}
