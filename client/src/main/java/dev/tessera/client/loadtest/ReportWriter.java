package dev.tessera.client.loadtest;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/**
 * Writes a run's report three ways into one directory: {@value #JSON} for machines ({@link ReportJson}),
 * {@value #MARKDOWN} to read or paste ({@link MarkdownReport}), and {@value #HTML}, one self-contained page with
 * the charts ({@link HtmlReport}).
 */
public final class ReportWriter {

    public static final String JSON = "report.json";
    public static final String MARKDOWN = "report.md";
    public static final String HTML = "report.html";

    private ReportWriter() {}

    /**
     * Writes the three files into {@code dir}, creating it if needed and replacing files of the same names. Each
     * file is written beside its final name and then moved into place, so a reader never sees half a file.
     *
     * @throws IllegalArgumentException when the report's knee is not -1 or an index into its levels
     */
    public static void write(Report report, Path dir) throws IOException {
        check(report);
        Files.createDirectories(dir);
        // NOTE: JSON first: should rendering fail on some unforeseen value, the figures are on disk already.
        replace(dir.resolve(JSON), ReportJson.toJson(report));
        replace(dir.resolve(MARKDOWN), MarkdownReport.render(report));
        replace(dir.resolve(HTML), HtmlReport.render(report));
    }

    /** The Markdown summary, as {@link #write} puts it in {@value #MARKDOWN} (for printing at the end of a run). */
    public static String markdown(Report report) {
        check(report);
        return MarkdownReport.render(report);
    }

    private static void check(Report report) {
        if (report.knee() < -1 || report.knee() >= report.levels().size())
            throw new IllegalArgumentException("the knee " + report.knee() + " is not -1 or an index into the "
                    + report.levels().size() + " levels");
    }

    private static void replace(Path file, String content) throws IOException {
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        Files.writeString(tmp, content, StandardCharsets.UTF_8);
        try {
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
        }
    }
}
