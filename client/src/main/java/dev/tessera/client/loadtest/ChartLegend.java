package dev.tessera.client.loadtest;

import java.util.ArrayList;
import java.util.List;

/**
 * A chart's legend: one entry per series (a swatch of its line, dash and point, then its name), laid out in rows
 * that wrap at the chart's right edge.
 *
 * @param rows the series of each row, in order
 * @param left where each row starts, px
 */
record ChartLegend(List<List<SvgChart.Series>> rows, double left) {

    /** NOTE: an estimate (no font metrics here): 6.5 px per character of 11 px sans-serif, plus the swatch. */
    static double entryWidth(SvgChart.Series s) {
        return 34 + 6.5 * s.name().length();
    }

    /** Lays the series out in rows between {@code left} and {@code right}. */
    static ChartLegend layout(List<SvgChart.Series> series, double left, double right) {
        List<List<SvgChart.Series>> rows = new ArrayList<>();
        List<SvgChart.Series> row = new ArrayList<>();
        double x = left;
        for (SvgChart.Series s : series) {
            double w = entryWidth(s);
            if (!row.isEmpty() && x + w > right) {
                rows.add(row);
                row = new ArrayList<>();
                x = left;
            }
            row.add(s);
            x += w;
        }
        if (!row.isEmpty()) rows.add(row);
        return new ChartLegend(rows, left);
    }

    /** Draws the rows, the first with its text baseline at {@code firstBaseline}. */
    void draw(StringBuilder b, double firstBaseline, double lineHeight) {
        b.append("<g class=\"legend\">");
        double y = firstBaseline;
        for (List<SvgChart.Series> row : rows) {
            double x = left;
            for (SvgChart.Series s : row) {
                String colour = s.reference() ? SvgChart.REFERENCE_COLOUR : s.colour();
                String swatchY = Svg.num(y - 4);
                b.append("<g class=\"legend-entry\">");
                if (s.mark() != SvgChart.Mark.POINTS)
                    b.append("<line x1=\"").append(Svg.num(x)).append("\" y1=\"").append(swatchY).append("\" x2=\"")
                            .append(Svg.num(x + 18)).append("\" y2=\"").append(swatchY).append("\" stroke=\"")
                            .append(colour).append("\" stroke-width=\"2\"")
                            .append(s.dashed() || s.reference() ? " stroke-dasharray=\"5 3\"" : "").append("/>");
                if (s.mark() != SvgChart.Mark.LINE)
                    b.append("<circle cx=\"").append(Svg.num(x + 9)).append("\" cy=\"").append(swatchY)
                            .append("\" r=\"3\" fill=\"").append(colour).append("\"/>");
                Svg.text(b, "legend-label", x + 23, y, "start", "normal", 11, s.name());
                b.append("</g>");
                x += entryWidth(s);
            }
            y += lineHeight;
        }
        b.append("</g>\n");
    }
}
