package dev.tessera.client.loadtest;

import java.util.ArrayList;
import java.util.List;

/**
 * The one table every report shows, one row per load level, as plain text cells; the Markdown and the HTML report
 * only escape and lay them out, so both always show the same figures.
 *
 * @param header the column headers
 * @param rows   one row of cells per level, in the order run
 * @param knee   index of the knee's row, or -1
 */
record SummaryTable(List<String> header, List<List<String>> rows, int knee) {

    /** What a row's load cell gets appended at the knee. */
    static final String KNEE_MARK = " (knee)";

    SummaryTable {
        header = List.copyOf(header);
        rows = rows.stream().map(List::copyOf).toList();
        for (List<String> row : rows)
            if (row.size() != header.size())
                throw new IllegalArgumentException("a row has " + row.size() + " cells for " + header.size() + " columns");
    }

    static SummaryTable of(Report report) {
        LoadAxis axis = LoadAxis.of(report.levels());
        List<String> header = List.of(axis.column, "Completed", "Achieved req/s", "Output tok/s",
                "TTFT p50 ms", "TTFT p90 ms", "TTFT p99 ms", "TPOT p50 ms", "TPOT p99 ms", "ITL p50 ms", "ITL p99 ms",
                "E2E p50 ms", "E2E p99 ms", "Goodput req/s", "Errors");
        List<List<String>> rows = new ArrayList<>();
        for (int i = 0; i < report.levels().size(); i++) {
            LevelResult l = report.levels().get(i);
            rows.add(List.of(
                    axis.cell(l) + (i == report.knee() ? KNEE_MARK : ""),
                    Long.toString(l.completed()),
                    Figures.number(l.requestsPerSecond()),
                    Figures.number(l.outputTokensPerSecond()),
                    Figures.ms(l.ttft(), l.ttft().p50()), Figures.ms(l.ttft(), l.ttft().p90()),
                    Figures.ms(l.ttft(), l.ttft().p99()),
                    Figures.ms(l.tpot(), l.tpot().p50()), Figures.ms(l.tpot(), l.tpot().p99()),
                    Figures.ms(l.itl(), l.itl().p50()), Figures.ms(l.itl(), l.itl().p99()),
                    Figures.ms(l.e2e(), l.e2e().p50()), Figures.ms(l.e2e(), l.e2e().p99()),
                    Figures.number(l.goodputPerSecond()) + " (" + Figures.percent(l.goodFraction()) + ")",
                    Figures.errors(l.failed(), l.errors())));
        }
        return new SummaryTable(header, rows, report.knee());
    }

    /**
     * The sentence under the table: which level is the knee, or that there is none.
     */
    static String kneeSentence(Report report) {
        if (report.knee() >= 0) {
            LevelResult k = report.levels().get(report.knee());
            return "Knee: " + Figures.level(k.level()) + " (level " + (report.knee() + 1) + " of " + report.levels().size()
                    + "), the last level before throughput stops following the offered load or latency jumps.";
        }
        return report.levels().size() <= 1 ? "Knee: none (a single load level)."
                : "Knee: none found; throughput followed the offered load at every level.";
    }

    /** The line next to TTFT figures: the arrival process, since client-side queueing inflates TTFT. */
    static String arrivalsSentence(RunInfo run) {
        return "Arrivals: " + run.arrivals() + ". TTFT is measured at the client and includes any client-side queueing.";
    }
}
