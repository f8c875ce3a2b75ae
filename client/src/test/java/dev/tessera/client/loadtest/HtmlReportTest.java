package dev.tessera.client.loadtest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.xml.XMLConstants;
import javax.xml.parsers.DocumentBuilderFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;

class HtmlReportTest {

    static final List<String> CHARTS = List.of("cdf-ttft", "cdf-e2e", "load-requests", "load-tokens", "load-latency",
            "ttft-over-run");

    @Test
    void isWellFormedXmlWithEveryChart(@TempDir Path dir) throws Exception {
        Report report = SyntheticReports.rates("gpt-oss-20b");
        ReportWriter.write(report, dir);
        String html = Files.readString(dir.resolve(ReportWriter.HTML));

        assertEquals(CHARTS.size(), count(html, "<svg "));
        assertEquals(CHARTS.size(), count(html, "</svg>"));
        Document doc = parse(html);
        for (String id : CHARTS) assertNotNull(chart(doc, id), id);
        // every SVG also parses on its own, as an .svg file would
        Matcher svg = Pattern.compile("(?s)<svg .*?</svg>").matcher(html);
        int parsed = 0;
        while (svg.find()) {
            assertEquals("svg", parse(svg.group()).getDocumentElement().getLocalName());
            parsed++;
        }
        assertEquals(CHARTS.size(), parsed);
    }

    @Test
    void cdfsHaveOneStaircasePerLevel() throws Exception {
        Report report = SyntheticReports.rates("gpt-oss-20b");
        Document doc = parse(HtmlReport.render(report));
        for (String id : List.of("cdf-ttft", "cdf-e2e")) {
            List<Element> series = series(chart(doc, id));
            assertEquals(List.of("rate 1/s", "rate 2/s", "rate 4/s", "rate 8/s (knee)", "rate 16/s"),
                    series.stream().map(s -> s.getAttribute("data-name")).toList());
            for (int i = 0; i < series.size(); i++) {
                assertEquals(SvgChart.PALETTE.get(i), series.get(i).getAttribute("data-colour"));
                String d = ((Element) series.get(i).getElementsByTagNameNS("*", "path").item(0)).getAttribute("d");
                long ok = report.levels().get(i).samples().stream().filter(Sample::ok).count();
                // two points per sampled request (up to the cap): a rise and a run
                assertEquals(2 * Math.min(ok, ReportCharts.MAX_CDF_POINTS), d.split("[ML]").length - 1, id + " " + i);
            }
            assertTrue(texts(chart(doc, id), "legend-label").contains("rate 8/s (knee)"));
        }
        // one request took 5,000 s: the E2E axis goes logarithmic rather than squash the rest against zero
        assertTrue(texts(chart(doc, "cdf-e2e"), "axis-label").contains("E2E latency (ms) (log scale)"));
        assertTrue(texts(chart(doc, "cdf-ttft"), "chart-title").getFirst().contains("(arrivals: poisson)"));
    }

    @Test
    void loadChartsMarkTheKneeAtItsLevel() throws Exception {
        Document doc = parse(HtmlReport.render(SyntheticReports.rates("gpt-oss-20b")));
        for (String id : List.of("load-requests", "load-tokens", "load-latency")) {
            Element chart = chart(doc, id);
            assertEquals(List.of("knee: rate 8/s"), texts(chart, "marker-label"), id);
            Element knee = (Element) byClass(chart, "marker").getFirst().getElementsByTagNameNS("*", "line").item(0);
            // the achieved series' 4th point (8/s) sits on the knee line
            Element achieved = series(chart).stream().filter(s -> !s.getAttribute("class").contains("reference"))
                    .findFirst().orElseThrow();
            Element fourth = (Element) achieved.getElementsByTagNameNS("*", "circle").item(3);
            assertEquals(knee.getAttribute("x1"), fourth.getAttribute("cx"), id);
            assertEquals(5, achieved.getElementsByTagNameNS("*", "circle").getLength(), id);
        }
        assertEquals(List.of("offered", "achieved", "goodput"),
                series(chart(doc, "load-requests")).stream().map(s -> s.getAttribute("data-name")).toList());
        assertEquals(List.of("TTFT p50", "TTFT p99", "E2E p50", "E2E p99"),
                series(chart(doc, "load-latency")).stream().map(s -> s.getAttribute("data-name")).toList());
    }

    @Test
    void scatterDrawsEveryRequestWithATokenAndCountsTheRest() throws Exception {
        Report report = SyntheticReports.rates("gpt-oss-20b");
        Element chart = chart(parse(HtmlReport.render(report)), "ttft-over-run");
        List<Element> series = series(chart);
        assertEquals(5, series.size());
        for (int i = 0; i < 5; i++) {
            long withToken = report.levels().get(i).samples().stream().filter(s -> Double.isFinite(s.ttftMs())).count();
            assertEquals(withToken, series.get(i).getElementsByTagNameNS("*", "circle").getLength());
        }
        assertTrue(texts(chart, "note").contains("5 requests without a first token not drawn."), texts(chart, "note")
                .toString());
    }

    @Test
    void headerCarriesTheRunAndTheSimulatedBanner() throws Exception {
        Document doc = parse(HtmlReport.render(SyntheticReports.rates("gpt-oss-20b")));
        Element banner = byId(doc, "simulated");
        assertEquals("SIMULATED workers: fixed 8 ms/token + 30 ms prefill. Latencies come from the latency model, not "
                + "from model math.", banner.getTextContent());
        String text = doc.getDocumentElement().getTextContent();
        for (String s : List.of("grpc 127.0.0.1:50051", "prompt uniform 100..300 tokens, output 128 tokens", "poisson",
                "TTFT <= 500 ms, E2E <= 20000 ms", "5 s per level, excluded",
                "./tessera loadtest --rates 1,2,4,8,16 --duration 20 --seed 42 --slo-ttft 500",
                "Arrivals: poisson. TTFT is measured at the client",
                "Knee: rate 8/s (level 4 of 5)"))
            assertTrue(text.contains(s), s);
        NodeList rows = doc.getElementsByTagNameNS("*", "tr");
        List<String> kneeRows = new ArrayList<>();
        for (int i = 0; i < rows.getLength(); i++)
            if (((Element) rows.item(i)).getAttribute("class").equals("knee")) kneeRows.add(rows.item(i).getTextContent());
        assertEquals(1, kneeRows.size());
        assertTrue(kneeRows.getFirst().startsWith("8 (knee)"), kneeRows.getFirst());
    }

    @Test
    void escapesTextAndLoadsNothing() throws Exception {
        String model = "<script>alert('x')</script> & \"q\" \u0001";
        String html = HtmlReport.render(SyntheticReports.rates(model));
        assertFalse(html.contains("<script"), "no script, escaped or not");
        for (String fetch : List.of(" src=", " href=", "<link", "<img", "url(", "@import", "<iframe", "<object"))
            assertFalse(html.contains(fetch), fetch);
        assertEquals(0, count(html, "https:"));
        assertEquals(count(html, "http://www.w3.org/2000/svg"), count(html, "http:"), "only the SVG namespace");
        Document doc = parse(html);
        Element h1 = (Element) doc.getElementsByTagNameNS("*", "h1").item(0);
        assertEquals("Load test: <script>alert('x')</script> & \"q\" \uFFFD", h1.getTextContent());
    }

    @Test
    void aLevelWithNothingCompletedStillRenders() throws Exception {
        Report report = SyntheticReports.nothingCompleted();
        String html = HtmlReport.render(report);
        assertFalse(html.contains("NaN"), "no NaN coordinates");
        assertFalse(html.contains("Infinity"));
        Document doc = parse(html);
        for (String id : List.of("cdf-ttft", "cdf-e2e", "ttft-over-run"))
            assertEquals(List.of("no data"), texts(chart(doc, id), "no-data"), id);
        assertEquals(List.of("no data"), texts(chart(doc, "load-latency"), "no-data"));
        assertTrue(texts(chart(doc, "load-latency"), "note").contains("1 level without completed requests not drawn."));
        assertTrue(byClass(chart(doc, "load-requests"), "marker").isEmpty(), "no knee");
        // closed loop: concurrency on the x axis, no "offered" guide
        assertTrue(texts(chart(doc, "load-requests"), "axis-label").contains("concurrency (requests in flight)"));
        assertEquals(List.of("achieved", "goodput"),
                series(chart(doc, "load-requests")).stream().map(s -> s.getAttribute("data-name")).toList());
        assertTrue(doc.getDocumentElement().getTextContent().contains("Knee: none (a single load level)."));
        assertTrue(doc.getDocumentElement().getTextContent().contains("12: UNAVAILABLE ×12"));
    }

    static Document parse(String xml) throws Exception {
        DocumentBuilderFactory f = DocumentBuilderFactory.newInstance();
        f.setNamespaceAware(true);
        f.setFeature(XMLConstants.FEATURE_SECURE_PROCESSING, true);
        f.setAttribute(XMLConstants.ACCESS_EXTERNAL_DTD, "");
        return f.newDocumentBuilder().parse(new ByteArrayInputStream(xml.getBytes(StandardCharsets.UTF_8)));
    }

    static Element chart(Document doc, String id) {
        return byId(doc, id);
    }

    static Element byId(Document doc, String id) {
        NodeList all = doc.getElementsByTagNameNS("*", "*");
        for (int i = 0; i < all.getLength(); i++)
            if (id.equals(((Element) all.item(i)).getAttribute("id"))) return (Element) all.item(i);
        throw new AssertionError("no element #" + id);
    }

    static List<Element> byClass(Element root, String cls) {
        List<Element> found = new ArrayList<>();
        NodeList all = root.getElementsByTagNameNS("*", "*");
        for (int i = 0; i < all.getLength(); i++) {
            Element e = (Element) all.item(i);
            if (List.of(e.getAttribute("class").split(" ")).contains(cls)) found.add(e);
        }
        return found;
    }

    static List<Element> series(Element chart) {
        return byClass(chart, "series");
    }

    static List<String> texts(Element root, String cls) {
        return byClass(root, cls).stream().map(Element::getTextContent).toList();
    }

    static int count(String s, String what) {
        int n = 0;
        for (int i = s.indexOf(what); i >= 0; i = s.indexOf(what, i + 1)) n++;
        return n;
    }
}
