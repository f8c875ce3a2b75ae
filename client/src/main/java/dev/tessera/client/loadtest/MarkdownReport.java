package dev.tessera.client.loadtest;

import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The report as Markdown, for a terminal, a pull request or an issue: the run's description (the simulated label
 * first and in bold), the level table with the arrival process right above it, and the knee.
 *
 * <p>Free text from the run (target, model, workload, ...) goes into code spans, and the command into a fenced
 * block, so no character in it can change the layout; table cells escape Markdown's special characters.
 */
final class MarkdownReport {

    private static final Pattern BACKTICKS = Pattern.compile("`+");

    private MarkdownReport() {}

    static String render(Report report) {
        RunInfo run = report.run();
        StringBuilder b = new StringBuilder(8192);
        b.append("# Load test: ").append(escape(Figures.model(run.model()))).append("\n\n");
        if (run.simulated())
            b.append("> **").append(escape(Figures.simulated(run)))
                    .append("**. Latencies come from the latency model, not from model math.\n\n");
        item(b, "Target", code(run.target()));
        item(b, "Model", code(Figures.model(run.model())));
        item(b, "Workers", run.simulated() ? "**" + escape(Figures.simulated(run)) + "**" : "real");
        item(b, "Workload", code(run.workload()));
        item(b, "Arrivals", code(run.arrivals()));
        item(b, "Seed", code(Long.toString(run.seed())));
        item(b, "SLOs", escape(run.slo().describe()));
        item(b, "Warm-up", escape(Figures.seconds(run.warmupSeconds())) + " per level, excluded from the figures");
        item(b, "Started", code(run.startedAt()));
        b.append("\nCommand:\n\n").append(fence(run.command())).append("\n\n");

        b.append("## Results by load level\n\n").append(escape(SummaryTable.arrivalsSentence(run))).append("\n\n");
        SummaryTable t = SummaryTable.of(report);
        tableRow(b, t.header(), false);
        b.append('|');
        for (int c = 0; c < t.header().size(); c++) b.append(c == t.header().size() - 1 ? " :--- |" : " ---: |");
        b.append('\n');
        for (int i = 0; i < t.rows().size(); i++) {
            tableRow(b, t.rows().get(i), i == t.knee());
        }
        b.append('\n').append(escape(SummaryTable.kneeSentence(report))).append("\n\n");
        b.append("Latency distributions, throughput against load and TTFT over each level are charted in report.html; ")
                .append("every figure and sampled request is in report.json.\n");
        return b.toString();
    }

    /** One table row of escaped cells, in bold for the knee. */
    private static void tableRow(StringBuilder b, List<String> cells, boolean bold) {
        String strong = bold ? "**" : "";
        b.append('|');
        for (String cell : cells) b.append(' ').append(strong).append(escape(cell)).append(strong).append(" |");
        b.append('\n');
    }

    private static void item(StringBuilder b, String name, String markdown) {
        b.append("- ").append(name).append(": ").append(markdown).append('\n');
    }

    /**
     * Text with the Markdown characters that can start emphasis, code, links, HTML, entities or a table cell
     * backslash-escaped (NOTE: '#', '+', '-' and '>' only matter at the start of a line, where no escaped text
     * goes), and newlines, which would end a table row, turned into spaces.
     */
    static String escape(String s) {
        String text = s.replace("\r\n", " ").replace('\n', ' ').replace('\r', ' ');
        StringBuilder b = new StringBuilder(text.length() + 8);
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if ("\\`*_[]&|~".indexOf(c) >= 0 || c == '<' && i + 1 < text.length() && startsTag(text.charAt(i + 1)))
                b.append('\\');
            b.append(c);
        }
        return b.toString();
    }

    /** Whether a character after '<' could open HTML ("<i>", "</x", "<!--", "<?"); "<= 500 ms" stays as it is. */
    private static boolean startsTag(char c) {
        return Character.isLetter(c) || c == '/' || c == '!' || c == '?';
    }

    /** An inline code span that holds {@code s} whatever backticks it contains. */
    static String code(String s) {
        String text = s == null || s.isEmpty() ? " " : s.replace('\n', ' ').replace('\r', ' ');
        String fence = "`".repeat(longestRun(text) + 1);
        String pad = text.startsWith("`") || text.endsWith("`") ? " " : "";
        return fence + pad + text + pad + fence;
    }

    /** A fenced code block holding {@code s} verbatim. */
    static String fence(String s) {
        String fence = "`".repeat(Math.max(3, longestRun(s) + 1));
        return fence + "\n" + s + "\n" + fence;
    }

    private static int longestRun(String s) {
        int longest = 0;
        Matcher m = BACKTICKS.matcher(s);
        while (m.find()) longest = Math.max(longest, m.group().length());
        return longest;
    }
}
