package dev.tessera.client.loadtest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.w3c.dom.Element;

class SvgChartTest {

    @Test
    void linearAxesStartAtZeroWithRoundTicksAndHeadroom() {
        Scale s = Scale.fit(new double[] {1, 2, 4, 8, 16, Double.NaN}, true, false);
        assertEquals(new Scale(0, 20, false), s);
        assertEquals(List.of(0.0, 5.0, 10.0, 15.0, 20.0), s.ticks());
        assertEquals(0.4, s.fraction(8), 1e-12);
        assertEquals(1.0, s.fraction(1e9), "clamped to the end");
        assertEquals(new Scale(0, 10, false), Scale.fit(new double[] {2, 8}, true, false), "8 not on the frame");
        // one value still gets an axis with room around it
        Scale one = Scale.fit(new double[] {4}, true, false);
        assertTrue(one.min() == 0 && one.max() > 4, one.toString());
        assertEquals(new Scale(0, 1, false), Scale.fit(new double[] {Double.NaN}, true, true), "no values");
    }

    @Test
    void latencyAxesGoLogarithmicOverTwoDecades() {
        Scale narrow = Scale.fit(new double[] {40, 80, 300}, true, true);
        assertFalse(narrow.log());
        Scale wide = Scale.fit(new double[] {0, 35, 900, 5_000_000}, true, true);
        assertEquals(new Scale(10, 1e7, true), wide);
        assertEquals(List.of(10.0, 100.0, 1e3, 1e4, 1e5, 1e6, 1e7), wide.ticks());
        assertEquals(0.5, Scale.fit(new double[] {1, 1e4}, true, true).fraction(100), 1e-12);
        assertEquals(0.0, wide.fraction(0), "zero on a log axis is drawn at its floor");
        assertEquals(List.of(1.0, 100.0, 1e4, 1e6, 1e8, 1e10, 1e12),
                Scale.fit(new double[] {1, 1e12}, true, true).ticks(), "every other decade beyond eight");
    }

    @Test
    void missingPointsBreakTheLineAndOutsidersAreCounted() throws Exception {
        SvgChart chart = new SvgChart("c", "A <title> & more", 400, 200)
                .xAxis("x", true, false).yAxis("fraction", Scale.linear(0, 1))
                .add(SvgChart.Series.of("a & b", "#1f77b4", SvgChart.Mark.LINE,
                        new double[] {0, 1, 2, 3, 4}, new double[] {0.1, 0.2, Double.NaN, 0.5, 7}));
        Element svg = HtmlReportTest.parse(chart.render()).getDocumentElement();
        String d = ((Element) svg.getElementsByTagNameNS("*", "path").item(0)).getAttribute("d");
        assertTrue(d.matches("M\\S+ \\S+ L\\S+ \\S+ M\\S+ \\S+ L\\S+ \\S+"), d);
        assertEquals(List.of("1 value outside the axis drawn at its edge"), HtmlReportTest.texts(svg, "note"));
        assertEquals("A <title> & more", HtmlReportTest.texts(svg, "chart-title").getFirst());
        assertEquals("a & b", HtmlReportTest.series(svg).getFirst().getAttribute("data-name"));
    }

    @Test
    void longTitlesWrapAndLegendsFlowIntoRows() throws Exception {
        String title = "Latency against offered rate (arrivals: gamma burstiness 0.25, at most 64 in flight, warm)";
        SvgChart chart = new SvgChart("c", title, 390, 200).xAxis("x", true, false).yAxis("y", true, true);
        for (String name : List.of("TTFT p50", "TTFT p99", "E2E p50", "E2E p99", "another long series name"))
            chart.add(SvgChart.Series.of(name, "#1f77b4", SvgChart.Mark.LINE_AND_POINTS, new double[] {1, 2},
                    new double[] {3, 4}));
        Element svg = HtmlReportTest.parse(chart.render()).getDocumentElement();
        Element text = HtmlReportTest.byClass(svg, "chart-title").getFirst();
        assertTrue(text.getElementsByTagNameNS("*", "tspan").getLength() >= 2);
        assertEquals(title, text.getTextContent());
        assertEquals(5, HtmlReportTest.byClass(svg, "legend-entry").size());
        assertTrue(Svg.wrap(title, 40).stream().allMatch(l -> l.length() <= 40), Svg.wrap(title, 40).toString());
    }
}
