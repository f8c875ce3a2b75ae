package dev.tessera.client.loadtest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.awt.image.BufferedImage;
import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Opens report.html in headless Chromium (Debian's chromium package) and checks that the charts are drawn: the
 * rendered DOM has every chart with series of non-zero length, and a screenshot has each series' colour inside its
 * chart's plot area.
 *
 * <p>Where the plot areas lie on the page comes from a copy of the page with a probe script added at the end,
 * dumped with {@code --dump-dom} at the same window size as the screenshot of the page itself: the script reads
 * each plot area's box and measures each series' drawn path length and points, and writes them into the DOM.
 *
 * <p>NOTE: fails rather than skips without Chromium, so the check cannot quietly vanish from a machine; .ci/run
 * installs it.
 */
class HtmlReportChromiumIT {

    private static final Duration TIMEOUT = Duration.ofSeconds(90);
    private static final int WIDTH = 1280, HEIGHT = 2400;
    /** A pixel matches a series colour when each channel is within this of it (anti-aliasing blends edges). */
    private static final int TOLERANCE = 30;
    /** At least this many matching pixels per series: a few points or a short line, far more than noise. */
    private static final int MIN_PIXELS = 20;

    private static final String PROBE = """
            <script>
            (function () {
              var out = {innerWidth: window.innerWidth, devicePixelRatio: window.devicePixelRatio,
                         scrollHeight: document.documentElement.scrollHeight, charts: []};
              document.querySelectorAll('svg.chart').forEach(function (svg) {
                var r = svg.querySelector('rect.plot-area').getBoundingClientRect();
                var chart = {id: svg.id, x: r.left + window.scrollX, y: r.top + window.scrollY, w: r.width, h: r.height,
                             series: []};
                svg.querySelectorAll('g.series').forEach(function (g) {
                  var length = 0, points = 0;
                  g.querySelectorAll('path.series-line').forEach(function (p) { length += p.getTotalLength(); });
                  g.querySelectorAll('circle.series-point').forEach(function (c) { if (c.getBBox().width > 0) points++; });
                  chart.series.push({name: g.getAttribute('data-name'), colour: g.getAttribute('data-colour'),
                                     reference: g.classList.contains('reference'), length: length, points: points});
                });
                out.charts.push(chart);
              });
              var pre = document.createElement('pre');
              pre.id = 'probe';
              pre.textContent = JSON.stringify(out);
              document.body.appendChild(pre);
            })();
            </script>
            """;

    @TempDir
    Path dir;

    @Test
    void chromiumDrawsEveryChart() throws Exception {
        String chromium = chromium();
        Report report = SyntheticReports.rates("gpt-oss-20b");
        ReportWriter.write(report, dir);
        Path html = dir.resolve(ReportWriter.HTML);
        Path probed = dir.resolve("probed.html");
        Files.writeString(probed, Files.readString(html).replace("</body>", PROBE + "</body>"));

        String dom = run(chromium, "dump-dom", "--dump-dom", probed.toUri().toString());
        Path png = dir.resolve("report.png");
        run(chromium, "screenshot", "--screenshot=" + png, html.toUri().toString());

        // the rendered DOM: every chart, with drawn lines and points
        assertEquals(HtmlReportTest.CHARTS.size(), count(dom, "<svg "), "charts in the rendered DOM");
        assertTrue(count(dom, "<path class=\"series-line\" d=\"M") >= 2 * 5 + 3 + 1 + 4, "series lines in the DOM");
        long withToken = report.levels().stream().flatMap(l -> l.samples().stream())
                .filter(s -> Double.isFinite(s.ttftMs())).count();
        assertTrue(count(dom, "<circle class=\"series-point\"") >= withToken, "scatter points in the DOM");

        JsonNode probe = probe(dom);
        assertEquals(WIDTH, probe.get("innerWidth").asInt(), "window width");
        assertEquals(1.0, probe.get("devicePixelRatio").asDouble());
        assertTrue(probe.get("scrollHeight").asInt() <= HEIGHT,
                "the page (" + probe.get("scrollHeight") + " px) must fit the " + HEIGHT + " px screenshot");
        List<String> ids = new ArrayList<>();
        for (JsonNode chart : probe.get("charts")) {
            ids.add(chart.get("id").asText());
            for (JsonNode s : chart.get("series"))
                assertTrue(s.get("length").asDouble() > 0 || s.get("points").asInt() > 0,
                        chart.get("id").asText() + " draws " + s.get("name").asText() + ": " + s);
        }
        assertEquals(HtmlReportTest.CHARTS, ids);

        BufferedImage image = ImageIO.read(png.toFile());
        assertEquals(WIDTH, image.getWidth());
        assertEquals(HEIGHT, image.getHeight());
        for (JsonNode chart : probe.get("charts")) {
            List<String> colours = new ArrayList<>();
            for (JsonNode s : chart.get("series")) {
                if (s.get("reference").asBoolean()) continue;
                String colour = s.get("colour").asText();
                colours.add(colour);
                int pixels = pixels(image, chart, colour);
                assertTrue(pixels >= MIN_PIXELS, chart.get("id").asText() + ": " + s.get("name").asText() + " ("
                        + colour + ") has " + pixels + " pixels in the screenshot's plot area");
            }
            // the control: a palette colour no series uses is (nearly) absent, so the matching is not too loose
            String unused = SvgChart.PALETTE.stream().filter(c -> !colours.contains(c)).reduce((a, b) -> b).orElseThrow();
            assertTrue(pixels(image, chart, unused) < 3, chart.get("id").asText() + " has " + unused);
        }
    }

    /** Pixels within {@link #TOLERANCE} of {@code colour} inside the chart's plot area, its frame left out. */
    private static int pixels(BufferedImage image, JsonNode chart, String colour) {
        int rgb = Integer.parseInt(colour.substring(1), 16);
        int x0 = (int) Math.ceil(chart.get("x").asDouble()) + 1, y0 = (int) Math.ceil(chart.get("y").asDouble()) + 1;
        int x1 = (int) (chart.get("x").asDouble() + chart.get("w").asDouble()) - 1;
        int y1 = (int) (chart.get("y").asDouble() + chart.get("h").asDouble()) - 1;
        assertTrue(x0 >= 0 && y0 >= 0 && x1 <= image.getWidth() && y1 <= image.getHeight() && x1 > x0 && y1 > y0,
                chart.get("id").asText() + " lies outside the screenshot: " + chart);
        int n = 0;
        for (int y = y0; y < y1; y++)
            for (int x = x0; x < x1; x++) {
                int p = image.getRGB(x, y);
                if (Math.abs(((p >> 16) & 0xff) - ((rgb >> 16) & 0xff)) <= TOLERANCE
                        && Math.abs(((p >> 8) & 0xff) - ((rgb >> 8) & 0xff)) <= TOLERANCE
                        && Math.abs((p & 0xff) - (rgb & 0xff)) <= TOLERANCE) n++;
            }
        return n;
    }

    private static JsonNode probe(String dom) throws Exception {
        Matcher m = Pattern.compile("(?s)<pre id=\"probe\">(.*?)</pre>").matcher(dom);
        if (!m.find()) fail("the probe script wrote nothing; the DOM ends with: " + tail(dom));
        String json = m.group(1).replace("&lt;", "<").replace("&gt;", ">").replace("&nbsp;", "\u00a0")
                .replace("&amp;", "&");
        return new ObjectMapper().readTree(json);
    }

    /** The Chromium binary, or a failure saying how to install it. */
    private static String chromium() {
        for (String candidate : List.of("/usr/bin/chromium", "/usr/bin/chromium-browser"))
            if (new File(candidate).canExecute()) return candidate;
        String path = System.getenv().getOrDefault("PATH", "");
        for (String d : path.split(File.pathSeparator))
            if (!d.isEmpty() && new File(d, "chromium").canExecute()) return new File(d, "chromium").getPath();
        return fail("headless Chromium is needed to check that report.html draws its charts, and none was found "
                + "(/usr/bin/chromium or chromium on the PATH). Install it: apt-get install chromium "
                + "(Debian; .ci/run installs it when missing).");
    }

    /**
     * Runs Chromium headless with a fresh profile, at most {@link #TIMEOUT}, and kills whatever it started that
     * is still running afterwards. Returns its standard output.
     */
    private String run(String chromium, String name, String... args) throws Exception {
        List<String> command = new ArrayList<>(List.of(chromium, "--headless", "--no-sandbox", "--disable-gpu",
                "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--disable-extensions", "--hide-scrollbars", "--force-device-scale-factor=1",
                "--user-data-dir=" + dir.resolve("profile-" + name), "--window-size=" + WIDTH + "," + HEIGHT));
        command.addAll(List.of(args));
        Path out = dir.resolve(name + ".out"), err = dir.resolve(name + ".err");
        Process process = new ProcessBuilder(command).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        // NOTE: Chromium forks helpers (zygote, renderer, GPU); they are collected while it runs, since once it has
        // exited they are no longer its descendants. ProcessHandle checks start times, so a reused pid is safe.
        Set<ProcessHandle> tree = new HashSet<>();
        long deadline = System.nanoTime() + TIMEOUT.toNanos();
        try {
            while (!process.waitFor(100, TimeUnit.MILLISECONDS)) {
                process.descendants().forEach(tree::add);
                if (System.nanoTime() > deadline)
                    fail("chromium " + name + " did not finish within " + TIMEOUT.toSeconds() + " s: "
                            + tail(Files.readString(err)));
            }
        } finally {
            process.descendants().forEach(tree::add);
            tree.stream().filter(ProcessHandle::isAlive).forEach(ProcessHandle::destroyForcibly);
            if (process.isAlive()) process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }
        if (process.exitValue() != 0)
            fail("chromium " + name + " exited with " + process.exitValue() + ": " + tail(Files.readString(err)));
        return Files.readString(out);
    }

    private static String tail(String s) {
        return s.length() <= 3000 ? s : "..." + s.substring(s.length() - 3000);
    }

    private static int count(String s, String what) {
        return HtmlReportTest.count(s, what);
    }
}
