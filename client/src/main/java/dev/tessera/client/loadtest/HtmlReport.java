package dev.tessera.client.loadtest;

import java.util.List;

/**
 * The report as one self-contained HTML page: the run's description (the simulated label on a red banner), the
 * level table, and the charts of {@link ReportCharts} as inline SVG.
 *
 * <p>Contract: the page loads nothing (no script, stylesheet, font, image or link to fetch), so it opens offline
 * in any browser; it is well-formed XML as well as HTML, with every text from the report escaped.
 */
final class HtmlReport {

    private HtmlReport() {}

    // NOTE: no '<' or '&' in the style sheet, so that the page stays well-formed XML.
    private static final String STYLE = """
            body { font-family: system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif;
                   color: #222222; margin: 20px; max-width: 1240px; }
            h1 { font-size: 22px; margin: 0 0 10px 0; }
            h2 { font-size: 17px; margin: 26px 0 8px 0; border-bottom: 1px solid #dddddd; padding-bottom: 4px; }
            .simulated { background: #b00020; color: #ffffff; font-weight: bold; font-size: 18px;
                         padding: 10px 14px; margin: 10px 0; border-radius: 4px; }
            table { border-collapse: collapse; font-size: 13px; }
            .table-scroll { overflow-x: auto; }
            table.run th { text-align: left; padding: 2px 14px 2px 0; color: #555555; font-weight: normal; }
            table.run td { padding: 2px 0; }
            table.levels { font-size: 12px; }
            table.levels th, table.levels td { border: 1px solid #d0d0d0; padding: 4px 6px; text-align: right; }
            table.levels td { white-space: nowrap; }
            table.levels th { background: #f3f3f3; vertical-align: bottom; }
            table.levels .errors { text-align: left; }
            table.levels tr.knee td { background: #fff4d6; font-weight: bold; }
            pre.command { background: #f6f6f6; border: 1px solid #dddddd; padding: 8px; white-space: pre-wrap;
                          word-break: break-all; font-size: 12px; }
            .charts { display: flex; flex-wrap: wrap; gap: 16px; }
            .charts svg { max-width: 100%; height: auto; border: 1px solid #e6e6e6; }
            p.note { color: #555555; font-size: 13px; }
            """;

    static String render(Report report) {
        RunInfo run = report.run();
        StringBuilder b = new StringBuilder(64 * 1024);
        b.append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n")
                .append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>\n<title>")
                .append(Xml.escape((run.simulated() ? "[SIMULATED] " : "") + "Load test: " + Figures.model(run.model())
                        + " at " + run.target()))
                .append("</title>\n<style>\n").append(STYLE).append("</style>\n</head>\n<body>\n");
        header(b, report);
        table(b, report);
        b.append("<h2>Latency distributions</h2>\n<div class=\"charts\">\n")
                .append(ReportCharts.cdf(report, "cdf-ttft", "TTFT", Sample::ttftMs).render())
                .append(ReportCharts.cdf(report, "cdf-e2e", "E2E latency", Sample::e2eMs).render())
                .append("</div>\n");
        b.append("<h2>Throughput and latency against load</h2>\n<div class=\"charts\">\n")
                .append(ReportCharts.requests(report).render())
                .append(ReportCharts.tokens(report).render())
                .append(ReportCharts.latency(report).render())
                .append("</div>\n");
        b.append("<h2>TTFT over each level</h2>\n<div class=\"charts\">\n")
                .append(ReportCharts.ttftOverRun(report).render())
                .append("</div>\n");
        b.append("<p class=\"note\">The figures are in report.json next to this page, with every sampled request.</p>\n");
        return b.append("</body>\n</html>\n").toString();
    }

    private static void header(StringBuilder b, Report report) {
        RunInfo run = report.run();
        b.append("<header>\n<h1>Load test: ").append(Xml.escape(Figures.model(run.model()))).append("</h1>\n");
        if (run.simulated())
            b.append("<div class=\"simulated\" id=\"simulated\">").append(Xml.escape(Figures.simulated(run)))
                    .append(". Latencies come from the latency model, not from model math.</div>\n");
        b.append("<table class=\"run\">\n");
        row(b, "Target", run.target());
        row(b, "Model", Figures.model(run.model()));
        row(b, "Workers", run.simulated() ? Figures.simulated(run) : "real");
        row(b, "Workload", run.workload());
        row(b, "Arrivals", run.arrivals());
        row(b, "Seed", Long.toString(run.seed()));
        row(b, "SLOs", run.slo().describe());
        row(b, "Warm-up", Figures.seconds(run.warmupSeconds()) + " per level, excluded");
        row(b, "Started", run.startedAt());
        b.append("</table>\n<pre class=\"command\"><code>").append(Xml.escape(run.command()))
                .append("</code></pre>\n</header>\n");
    }

    private static void row(StringBuilder b, String name, String value) {
        b.append("<tr><th>").append(Xml.escape(name)).append("</th><td>").append(Xml.escape(value)).append("</td></tr>\n");
    }

    private static void table(StringBuilder b, Report report) {
        SummaryTable t = SummaryTable.of(report);
        b.append("<h2>Results by load level</h2>\n<p class=\"arrivals\">")
                .append(Xml.escape(SummaryTable.arrivalsSentence(report.run()))).append("</p>\n")
                .append("<div class=\"table-scroll\">\n<table class=\"levels\">\n<thead><tr>");
        for (int c = 0; c < t.header().size(); c++)
            b.append(c == t.header().size() - 1 ? "<th class=\"errors\">" : "<th>").append(Xml.escape(t.header().get(c)))
                    .append("</th>");
        b.append("</tr></thead>\n<tbody>\n");
        for (int i = 0; i < t.rows().size(); i++) {
            List<String> cells = t.rows().get(i);
            b.append(i == t.knee() ? "<tr class=\"knee\">" : "<tr>");
            for (int c = 0; c < cells.size(); c++)
                b.append(c == cells.size() - 1 ? "<td class=\"errors\">" : "<td>").append(Xml.escape(cells.get(c)))
                        .append("</td>");
            b.append("</tr>\n");
        }
        b.append("</tbody>\n</table>\n</div>\n<p class=\"knee\">").append(Xml.escape(SummaryTable.kneeSentence(report)))
                .append("</p>\n");
    }
}
