package dev.tessera.client.loadtest;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.DoubleStream;

/**
 * A line or scatter chart drawn as one self-contained {@code <svg>} element: a title, a legend, a framed plot area
 * with grid lines, ticks and axis labels, the series, vertical markers (the knee) and notes under the axis.
 *
 * <p>The output is well-formed XML with every text escaped, at a fixed size (the viewBox lets CSS shrink it). Each
 * chart's plot area is a {@code rect.plot-area} and each series a {@code g.series} carrying {@code data-name} and
 * {@code data-colour}, so tests can find what was drawn. Non-finite points are not drawn and break a line; a value
 * outside the axis (zero or less on a log axis) is drawn at the axis's end and counted in a note.
 */
final class SvgChart {

    /** Distinct, readable series colours on white (Tableau 10 without its grey, which axes and grids use). */
    static final List<String> PALETTE = List.of("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
            "#8c564b", "#e377c2", "#bcbd22", "#17becf");
    /** Reference lines and markers: neutral greys, never a series colour. */
    static final String REFERENCE_COLOUR = "#666666";
    static final String GRID_COLOUR = "#e3e3e3";

    enum Mark { LINE, LINE_AND_POINTS, POINTS }

    /**
     * One series: points (xs[i], ys[i]) in the given colour.
     *
     * @param reference a guide rather than a measurement (such as "achieved = offered"): drawn thin and grey-dashed
     */
    record Series(String name, String colour, Mark mark, boolean dashed, boolean reference, double[] xs, double[] ys) {
        Series {
            if (xs.length != ys.length) throw new IllegalArgumentException(xs.length + " xs for " + ys.length + " ys");
        }

        static Series of(String name, String colour, Mark mark, double[] xs, double[] ys) {
            return new Series(name, colour, mark, false, false, xs, ys);
        }

        Series withDash() { return new Series(name, colour, mark, true, reference, xs, ys); }

        int drawable() {
            int n = 0;
            for (int i = 0; i < xs.length; i++) if (Double.isFinite(xs[i]) && Double.isFinite(ys[i])) n++;
            return n;
        }
    }

    /** How an axis fits its values: a fixed scale, or {@link Scale#fit} with these choices. */
    private record AxisSpec(String label, boolean fromZero, boolean logAllowed, Scale fixed) {}

    private record Marker(double x, String label) {}

    private static final int LEFT = 64, RIGHT = 18, BOTTOM = 46, LINE_HEIGHT = 16, POINT_RADIUS = 3;
    /** The title starts near the left edge; NOTE: 7.5 px per character estimates 13 px bold sans-serif. */
    private static final int TITLE_LEFT = 12;
    private static final double TITLE_CHAR_WIDTH = 7.5;

    private final String id;
    private final String title;
    private final int width;
    private final int plotHeight;
    private final List<Series> series = new ArrayList<>();
    private final List<Marker> markers = new ArrayList<>();
    private final List<String> notes = new ArrayList<>();
    private AxisSpec xSpec = new AxisSpec("", true, false, null);
    private AxisSpec ySpec = new AxisSpec("", true, false, null);

    /**
     * @param id         the element id (letters, digits and dashes)
     * @param width      the whole chart's width in px
     * @param plotHeight the plot area's height in px; the chart grows by its legend and notes
     */
    SvgChart(String id, String title, int width, int plotHeight) {
        if (!id.matches("[a-z][a-z0-9-]*")) throw new IllegalArgumentException("bad chart id " + id);
        if (width < LEFT + RIGHT + 100 || plotHeight < 60) throw new IllegalArgumentException("chart too small");
        this.id = id;
        this.title = title;
        this.width = width;
        this.plotHeight = plotHeight;
    }

    SvgChart xAxis(String label, boolean fromZero, boolean logAllowed) {
        xSpec = new AxisSpec(label, fromZero, logAllowed, null);
        return this;
    }

    SvgChart yAxis(String label, boolean fromZero, boolean logAllowed) {
        ySpec = new AxisSpec(label, fromZero, logAllowed, null);
        return this;
    }

    SvgChart yAxis(String label, Scale fixed) {
        ySpec = new AxisSpec(label, false, false, fixed);
        return this;
    }

    SvgChart add(Series s) {
        series.add(s);
        return this;
    }

    /** A dashed vertical line across the plot at {@code x}, labelled at its top. */
    SvgChart markX(double x, String label) {
        if (Double.isFinite(x)) markers.add(new Marker(x, label));
        return this;
    }

    /** A line of small print under the axis. */
    SvgChart note(String text) {
        notes.add(text);
        return this;
    }

    /** Whether any series has a point to draw. */
    boolean hasData() {
        return series.stream().anyMatch(s -> s.drawable() > 0);
    }

    String render() {
        Scale xs = scale(xSpec, series.stream().flatMapToDouble(s -> DoubleStream.of(s.xs())).toArray(),
                markers.stream().mapToDouble(Marker::x).toArray());
        Scale ys = scale(ySpec, series.stream().flatMapToDouble(s -> DoubleStream.of(s.ys())).toArray(), new double[0]);
        List<String> titleLines = Svg.wrap(title, (width - 2 * TITLE_LEFT) / TITLE_CHAR_WIDTH);
        int titleBottom = 18 + (titleLines.size() - 1) * LINE_HEIGHT;
        ChartLegend legend = ChartLegend.layout(series, LEFT, width - RIGHT);
        int top = titleBottom + 12 + legend.rows().size() * LINE_HEIGHT + (markers.isEmpty() ? 6 : 18);
        int plotWidth = width - LEFT - RIGHT;
        List<String> allNotes = new ArrayList<>(notes);
        int clamped = countOutside(xs, true) + countOutside(ys, false);
        if (clamped > 0)
            allNotes.add(clamped + (clamped == 1 ? " value" : " values") + " outside the axis drawn at its edge");
        int height = top + plotHeight + BOTTOM + allNotes.size() * 14 + 4;

        StringBuilder b = new StringBuilder(4096);
        b.append("<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" id=\"").append(id)
                .append("\" width=\"").append(width).append("\" height=\"").append(height)
                .append("\" viewBox=\"0 0 ").append(width).append(' ').append(height)
                .append("\" role=\"img\" font-family=\"sans-serif\" font-size=\"11\">\n");
        b.append("<title>").append(Xml.escape(title)).append("</title>\n");
        b.append("<rect width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>\n");
        b.append("<text class=\"chart-title\" x=\"").append(TITLE_LEFT)
                .append("\" y=\"18\" font-weight=\"bold\" font-size=\"13\" fill=\"" + Svg.TEXT_COLOUR + "\">");
        for (int i = 0; i < titleLines.size(); i++)
            b.append("<tspan x=\"").append(TITLE_LEFT).append("\" dy=\"").append(i == 0 ? 0 : LINE_HEIGHT).append("\">")
                    .append(Xml.escape(titleLines.get(i) + (i < titleLines.size() - 1 ? " " : ""))).append("</tspan>");
        b.append("</text>\n");
        legend.draw(b, titleBottom + LINE_HEIGHT, LINE_HEIGHT);
        Frame f = new Frame(LEFT, top, plotWidth, plotHeight, xs, ys);
        b.append("<rect class=\"plot-area\" x=\"").append(LEFT).append("\" y=\"").append(top).append("\" width=\"")
                .append(plotWidth).append("\" height=\"").append(plotHeight)
                .append("\" fill=\"#ffffff\" stroke=\"#999999\"/>\n");
        axes(b, f);
        for (Series s : series) series(b, f, s);
        for (Marker m : markers) {
            double x = f.px(m.x());
            b.append("<g class=\"marker\">");
            Svg.line(b, x, top, x, top + plotHeight, REFERENCE_COLOUR, "stroke-width=\"1.5\" stroke-dasharray=\"5 4\"");
            String anchor = x > LEFT + plotWidth * 0.8 ? "end" : "middle";
            Svg.text(b, "marker-label", x, top - 5, anchor, "bold", 11, m.label());
            b.append("</g>\n");
        }
        if (!hasData())
            Svg.text(b, "no-data", LEFT + plotWidth / 2.0, top + plotHeight / 2.0, "middle", "normal", 14, "no data");
        int y = top + plotHeight + BOTTOM + 10;
        for (String note : allNotes) {
            Svg.text(b, "note", LEFT, y, "start", "normal", 11, note);
            y += 14;
        }
        return b.append("</svg>\n").toString();
    }

    private Scale scale(AxisSpec spec, double[] values, double[] extra) {
        if (spec.fixed() != null) return spec.fixed();
        double[] all = Arrays.copyOf(values, values.length + extra.length);
        System.arraycopy(extra, 0, all, values.length, extra.length);
        return Scale.fit(all, spec.fromZero(), spec.logAllowed());
    }

    private int countOutside(Scale scale, boolean x) {
        int n = 0;
        for (Series s : series)
            for (int i = 0; i < s.xs().length; i++) {
                double v = x ? s.xs()[i] : s.ys()[i];
                if (Double.isFinite(s.xs()[i]) && Double.isFinite(s.ys()[i]) && !scale.contains(v)) n++;
            }
        return n;
    }

    /** The plot area and its scales: data to pixels. */
    private record Frame(double left, double top, double width, double height, Scale x, Scale y) {
        double px(double v) { return left + x.fraction(v) * width; }
        double py(double v) { return top + (1 - y.fraction(v)) * height; }
    }

    private void axes(StringBuilder b, Frame f) {
        double bottom = f.top() + f.height();
        b.append("<g class=\"axis x-axis\">");
        for (double t : f.x().ticks()) {
            double x = f.px(t);
            Svg.line(b, x, f.top(), x, bottom + 4, GRID_COLOUR, "");
            Svg.text(b, "tick", x, bottom + 16, "middle", "normal", 11, Figures.tick(t));
        }
        Svg.text(b, "axis-label", f.left() + f.width() / 2, bottom + 36, "middle", "normal", 12,
                xSpec.label() + (f.x().log() ? " (log scale)" : ""));
        b.append("</g>\n<g class=\"axis y-axis\">");
        for (double t : f.y().ticks()) {
            double y = f.py(t);
            Svg.line(b, f.left() - 4, y, f.left() + f.width(), y, GRID_COLOUR, "");
            Svg.text(b, "tick", f.left() - 7, y + 4, "end", "normal", 11, Figures.tick(t));
        }
        double cy = f.top() + f.height() / 2;
        b.append("<text class=\"axis-label\" x=\"0\" y=\"0\" text-anchor=\"middle\" font-size=\"12\" fill=\"")
                .append(Svg.TEXT_COLOUR).append('"')
                .append(" transform=\"translate(14 ").append(Svg.num(cy)).append(") rotate(-90)\">")
                .append(Xml.escape(ySpec.label() + (f.y().log() ? " (log scale)" : ""))).append("</text>");
        b.append("</g>\n");
    }

    private void series(StringBuilder b, Frame f, Series s) {
        String colour = s.reference() ? REFERENCE_COLOUR : s.colour();
        b.append("<g class=\"series").append(s.reference() ? " reference" : "").append("\" data-name=\"")
                .append(Xml.escape(s.name())).append("\" data-colour=\"").append(Xml.escape(colour)).append("\">");
        if (s.mark() != Mark.POINTS) {
            StringBuilder d = new StringBuilder();
            boolean pen = false;
            for (int i = 0; i < s.xs().length; i++) {
                double x = s.xs()[i], y = s.ys()[i];
                if (!Double.isFinite(x) || !Double.isFinite(y)) {
                    pen = false;
                    continue;
                }
                d.append(pen ? " L" : d.isEmpty() ? "M" : " M").append(Svg.num(f.px(x))).append(' ')
                        .append(Svg.num(f.py(y)));
                pen = true;
            }
            if (!d.isEmpty())
                b.append("<path class=\"series-line\" d=\"").append(d).append("\" fill=\"none\" stroke=\"")
                        .append(colour).append("\" stroke-width=\"").append(s.reference() ? "1.5" : "2")
                        .append("\" stroke-linejoin=\"round\"")
                        .append(s.dashed() || s.reference() ? " stroke-dasharray=\"7 4\"" : "").append("/>");
        }
        if (s.mark() != Mark.LINE) {
            for (int i = 0; i < s.xs().length; i++) {
                double x = s.xs()[i], y = s.ys()[i];
                if (!Double.isFinite(x) || !Double.isFinite(y)) continue;
                b.append("<circle class=\"series-point\" cx=\"").append(Svg.num(f.px(x))).append("\" cy=\"")
                        .append(Svg.num(f.py(y))).append("\" r=\"").append(s.mark() == Mark.POINTS ? 2.5 : POINT_RADIUS)
                        .append("\" fill=\"").append(colour).append("\"/>");
            }
        }
        b.append("</g>\n");
    }
}
