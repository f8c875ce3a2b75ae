package dev.tessera.client.loadtest;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.function.ToDoubleFunction;
import java.util.stream.IntStream;

/**
 * The report's charts, built from a {@link Report}:
 * <ul>
 *   <li>{@code cdf-ttft}, {@code cdf-e2e}: each level's TTFT and end-to-end latency as a cumulative distribution
 *       of its sampled successful requests, one line per level;</li>
 *   <li>{@code load-requests}, {@code load-tokens}, {@code load-latency}: achieved and good requests/s, output
 *       tokens/s, and TTFT and E2E p50/p99 against the offered rate (or concurrency), the knee marked;</li>
 *   <li>{@code ttft-over-run}: every sampled request's TTFT against when it was sent within its level, one colour
 *       per level, which shows queues building up during a level.</li>
 * </ul>
 * Latency axes turn logarithmic when values span two decades or more.
 */
final class ReportCharts {

    /** At most this many points of one level's CDF are drawn (evenly spaced in rank); the shape stays exact. */
    static final int MAX_CDF_POINTS = 400;
    /** At most this many of one level's samples are drawn in the scatter (evenly thinned). */
    static final int MAX_SCATTER_POINTS = 1500;

    static final String ACHIEVED = "#1f77b4", GOODPUT = "#2ca02c", TOKENS = "#ff7f0e",
            TTFT_P50 = "#1f77b4", TTFT_P99 = "#9467bd", E2E_P50 = "#ff7f0e", E2E_P99 = "#d62728";

    private ReportCharts() {}

    /** The colour of the level at {@code index}. */
    static String levelColour(int index) {
        return SvgChart.PALETTE.get(index % SvgChart.PALETTE.size());
    }

    /** A level's name in legends: its label, with the knee marked. */
    static String levelName(Report report, int index) {
        return Figures.level(report.levels().get(index).level()) + (index == report.knee() ? SummaryTable.KNEE_MARK : "");
    }

    static SvgChart cdf(Report report, String id, String what, ToDoubleFunction<Sample> value) {
        SvgChart chart = new SvgChart(id, what + " distribution by level (arrivals: " + report.run().arrivals() + ")",
                600, 300)
                .xAxis(what + " (ms)", true, true)
                .yAxis("fraction of requests at or below", Scale.linear(0, 1));
        List<String> counts = new ArrayList<>();
        for (int i = 0; i < report.levels().size(); i++) {
            double[] sorted = report.levels().get(i).samples().stream()
                    .filter(Sample::ok).mapToDouble(value).filter(Double::isFinite).sorted().toArray();
            counts.add(Integer.toString(sorted.length));
            double[][] steps = cdfSteps(sorted);
            SvgChart.Series s = SvgChart.Series.of(levelName(report, i), levelColour(i), SvgChart.Mark.LINE,
                    steps[0], steps[1]);
            chart.add(i % (2 * SvgChart.PALETTE.size()) >= SvgChart.PALETTE.size() ? s.withDash() : s);
        }
        return chart.note("From each level's sampled successful requests (n = " + String.join(", ", counts) + ").");
    }

    /**
     * The empirical CDF of sorted values as a staircase: for each drawn value v at rank i of n, the points
     * (v, i/n) and (v, (i+1)/n). Beyond {@link #MAX_CDF_POINTS} values, ranks are taken evenly, always with the last.
     */
    static double[][] cdfSteps(double[] sorted) {
        int n = sorted.length;
        int[] ranks = n <= MAX_CDF_POINTS ? IntStream.range(0, n).toArray()
                : IntStream.rangeClosed(0, MAX_CDF_POINTS - 1).map(k -> (int) ((long) k * (n - 1) / (MAX_CDF_POINTS - 1)))
                .distinct().toArray();
        double[] xs = new double[ranks.length * 2], ys = new double[ranks.length * 2];
        int previous = 0;
        for (int j = 0; j < ranks.length; j++) {
            xs[2 * j] = sorted[ranks[j]];
            ys[2 * j] = (double) previous / n;
            xs[2 * j + 1] = sorted[ranks[j]];
            ys[2 * j + 1] = (double) (ranks[j] + 1) / n;
            previous = ranks[j] + 1;
        }
        return new double[][] {xs, ys};
    }

    static SvgChart requests(Report report) {
        LoadAxis axis = LoadAxis.of(report.levels());
        int[] order = byLoad(report, axis);
        double[] xs = xs(report, axis, order);
        SvgChart chart = new SvgChart("load-requests", "Requests per second against " + axisNoun(axis), 390, 240)
                .xAxis(axis.axisLabel, true, false).yAxis("requests per second", true, false);
        if (axis == LoadAxis.OFFERED_RATE)
            chart.add(new SvgChart.Series("offered", SvgChart.REFERENCE_COLOUR, SvgChart.Mark.LINE, false, true, xs, xs));
        chart.add(SvgChart.Series.of("achieved", ACHIEVED, SvgChart.Mark.LINE_AND_POINTS, xs,
                ys(report, order, LevelResult::requestsPerSecond)));
        chart.add(SvgChart.Series.of("goodput", GOODPUT, SvgChart.Mark.LINE_AND_POINTS, xs,
                ys(report, order, LevelResult::goodputPerSecond)));
        if (!report.run().slo().isSet()) chart.note("No SLOs set: goodput equals achieved.");
        return knee(report, axis, chart);
    }

    static SvgChart tokens(Report report) {
        LoadAxis axis = LoadAxis.of(report.levels());
        int[] order = byLoad(report, axis);
        SvgChart chart = new SvgChart("load-tokens", "Output tokens per second against " + axisNoun(axis), 390, 240)
                .xAxis(axis.axisLabel, true, false).yAxis("output tokens per second", true, false)
                .add(SvgChart.Series.of("output tok/s", TOKENS, SvgChart.Mark.LINE_AND_POINTS, xs(report, axis, order),
                        ys(report, order, LevelResult::outputTokensPerSecond)));
        return knee(report, axis, chart);
    }

    static SvgChart latency(Report report) {
        LoadAxis axis = LoadAxis.of(report.levels());
        int[] order = byLoad(report, axis);
        double[] xs = xs(report, axis, order);
        SvgChart chart = new SvgChart("load-latency", "Latency against " + axisNoun(axis) + " (arrivals: "
                + report.run().arrivals() + ")", 390, 240)
                .xAxis(axis.axisLabel, true, false).yAxis("latency (ms)", true, true)
                .add(SvgChart.Series.of("TTFT p50", TTFT_P50, SvgChart.Mark.LINE_AND_POINTS, xs,
                        ys(report, order, l -> l.ttft().count() == 0 ? Double.NaN : l.ttft().p50())))
                .add(SvgChart.Series.of("TTFT p99", TTFT_P99, SvgChart.Mark.LINE_AND_POINTS, xs,
                        ys(report, order, l -> l.ttft().count() == 0 ? Double.NaN : l.ttft().p99())).withDash())
                .add(SvgChart.Series.of("E2E p50", E2E_P50, SvgChart.Mark.LINE_AND_POINTS, xs,
                        ys(report, order, l -> l.e2e().count() == 0 ? Double.NaN : l.e2e().p50())))
                .add(SvgChart.Series.of("E2E p99", E2E_P99, SvgChart.Mark.LINE_AND_POINTS, xs,
                        ys(report, order, l -> l.e2e().count() == 0 ? Double.NaN : l.e2e().p99())).withDash());
        long empty = report.levels().stream().filter(l -> l.e2e().count() == 0).count();
        if (empty > 0) chart.note(empty + (empty == 1 ? " level" : " levels") + " without completed requests not drawn.");
        return knee(report, axis, chart);
    }

    static SvgChart ttftOverRun(Report report) {
        SvgChart chart = new SvgChart("ttft-over-run", "TTFT of each request over its level (arrivals: "
                + report.run().arrivals() + ")", 1200, 320)
                .xAxis("seconds since the level began", true, false).yAxis("TTFT (ms)", true, true);
        long withoutToken = 0;
        for (int i = 0; i < report.levels().size(); i++) {
            List<Sample> samples = report.levels().get(i).samples();
            withoutToken += samples.stream().filter(s -> !Double.isFinite(s.ttftMs())).count();
            List<Sample> drawn = thin(samples.stream().filter(s -> Double.isFinite(s.ttftMs())).toList(),
                    MAX_SCATTER_POINTS);
            chart.add(SvgChart.Series.of(levelName(report, i), levelColour(i), SvgChart.Mark.POINTS,
                    drawn.stream().mapToDouble(Sample::startSeconds).toArray(),
                    drawn.stream().mapToDouble(Sample::ttftMs).toArray()));
        }
        if (withoutToken > 0)
            chart.note(withoutToken + (withoutToken == 1 ? " request" : " requests") + " without a first token not drawn.");
        return chart.note("Heavier levels are drawn over lighter ones. A TTFT that climbs during a level means the "
                + "queue grew: the level was beyond capacity.");
    }

    /** Every k-th element so that at most {@code max} remain, in order. */
    static <T> List<T> thin(List<T> all, int max) {
        if (all.size() <= max) return all;
        List<T> kept = new ArrayList<>(max);
        for (int k = 0; k < max; k++) kept.add(all.get((int) ((long) k * all.size() / max)));
        return kept;
    }

    private static SvgChart knee(Report report, LoadAxis axis, SvgChart chart) {
        if (report.knee() >= 0) chart.markX(axis.x(report.levels().get(report.knee()), report.knee()),
                "knee: " + Figures.level(report.levels().get(report.knee()).level()));
        return chart;
    }

    private static String axisNoun(LoadAxis axis) {
        return switch (axis) {
            case OFFERED_RATE -> "offered rate";
            case CONCURRENCY -> "concurrency";
            case MIXED -> "load level";
        };
    }

    /** Level indices sorted by their x, so lines run left to right whatever order the levels ran in. */
    private static int[] byLoad(Report report, LoadAxis axis) {
        return IntStream.range(0, report.levels().size()).boxed()
                .sorted(Comparator.comparingDouble(i -> axis.x(report.levels().get(i), i)))
                .mapToInt(Integer::intValue).toArray();
    }

    private static double[] xs(Report report, LoadAxis axis, int[] order) {
        return Arrays.stream(order).mapToDouble(i -> axis.x(report.levels().get(i), i)).toArray();
    }

    private static double[] ys(Report report, int[] order, ToDoubleFunction<LevelResult> f) {
        return Arrays.stream(order).mapToDouble(i -> f.applyAsDouble(report.levels().get(i))).toArray();
    }
}
