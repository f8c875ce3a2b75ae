package dev.tessera.client.loadtest;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** Small pieces of SVG writing shared by {@link SvgChart} and {@link ChartLegend}. */
final class Svg {

    static final String TEXT_COLOUR = "#333333";

    private Svg() {}

    /** A {@code <text>} element of the given class with its text escaped. */
    static void text(StringBuilder b, String cls, double x, double y, String anchor, String weight, int size,
                     String text) {
        b.append("<text class=\"").append(cls).append("\" x=\"").append(num(x)).append("\" y=\"").append(num(y))
                .append("\" text-anchor=\"").append(anchor).append("\" font-weight=\"").append(weight)
                .append("\" font-size=\"").append(size).append("\" fill=\"").append(TEXT_COLOUR).append("\">")
                .append(Xml.escape(text)).append("</text>");
    }

    /** A {@code <line>} with a stroke colour and more attributes ("" for none). */
    static void line(StringBuilder b, double x1, double y1, double x2, double y2, String stroke, String attributes) {
        b.append("<line x1=\"").append(num(x1)).append("\" y1=\"").append(num(y1)).append("\" x2=\"").append(num(x2))
                .append("\" y2=\"").append(num(y2)).append("\" stroke=\"").append(stroke).append('"')
                .append(attributes.isEmpty() ? "" : " ").append(attributes).append("/>");
    }

    /** A coordinate with one decimal, whatever the default locale. */
    static String num(double v) {
        return String.format(Locale.ROOT, "%.1f", v);
    }

    /**
     * Words of {@code text} in lines of at most {@code maxChars} characters; a longer word gets a line of its own.
     * NOTE: SVG 1.1 text does not wrap, and there are no font metrics here, so callers estimate characters per line.
     */
    static List<String> wrap(String text, double maxChars) {
        List<String> lines = new ArrayList<>();
        StringBuilder line = new StringBuilder();
        for (String word : text.split(" ")) {
            if (!line.isEmpty() && line.length() + 1 + word.length() > maxChars) {
                lines.add(line.toString());
                line.setLength(0);
            }
            if (!line.isEmpty()) line.append(' ');
            line.append(word);
        }
        lines.add(line.toString());
        return lines;
    }
}
