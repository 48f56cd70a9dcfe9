package ptlab.report;

import java.util.List;
import java.util.Locale;

/**
 * Small SVG chart writer: a line chart of several series over a common x axis and a grouped
 * bar chart. Sizes are fixed; axes get a few round ticks; every series has a legend entry.
 */
public final class Svg {
    private Svg() {}

    /** Colors of successive series (colour-blind friendly). */
    static final String[] COLORS = {"#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000"};

    /** A named series of y values, one per x index. */
    public record Series(String name, double[] values) {}

    private static final int W = 760;
    private static final int H = 300;
    private static final int L = 70;
    private static final int R = 150;
    private static final int T = 20;
    private static final int B = 40;

    /** A line chart; {@code xLabels} names the x positions (every few are printed). */
    public static String lineChart(String title, String yUnit, List<String> xLabels, List<Series> series) {
        double max = 1;
        for (Series s : series) {
            for (double v : s.values()) {
                max = Math.max(max, v);
            }
        }
        double top = niceTop(max);
        int n = Math.max(2, xLabels.size());
        StringBuilder b = open(title);
        axes(b, top, yUnit);
        int every = Math.max(1, (n + 9) / 10);
        for (int i = 0; i < xLabels.size(); i += every) {
            double x = L + (W - L - R) * (double) i / (n - 1);
            b.append(String.format(Locale.ROOT, "<text x='%.1f' y='%d' font-size='10' text-anchor='middle'>%s</text>%n",
                    x, H - B + 14, esc(xLabels.get(i))));
        }
        for (int si = 0; si < series.size(); si++) {
            Series s = series.get(si);
            StringBuilder pts = new StringBuilder();
            for (int i = 0; i < s.values().length; i++) {
                double x = L + (W - L - R) * (double) i / (n - 1);
                double y = H - B - (H - B - T) * s.values()[i] / top;
                pts.append(String.format(Locale.ROOT, "%.1f,%.1f ", x, y));
            }
            String c = COLORS[si % COLORS.length];
            b.append("<polyline fill='none' stroke-width='2' stroke='").append(c).append("' points='").append(pts).append("'/>\n");
            legend(b, si, s.name(), c);
        }
        return b.append("</svg>\n").toString();
    }

    /** A grouped bar chart: one group per category, one bar per series. */
    public static String barChart(String title, String yUnit, List<String> categories, List<Series> series) {
        double max = 1;
        for (Series s : series) {
            for (double v : s.values()) {
                max = Math.max(max, v);
            }
        }
        double top = niceTop(max);
        StringBuilder b = open(title);
        axes(b, top, yUnit);
        int groups = Math.max(1, categories.size());
        double gw = (double) (W - L - R) / groups;
        double bw = gw * 0.8 / Math.max(1, series.size());
        for (int gi = 0; gi < categories.size(); gi++) {
            double gx = L + gi * gw;
            b.append(String.format(Locale.ROOT, "<text x='%.1f' y='%d' font-size='10' text-anchor='middle'>%s</text>%n",
                    gx + gw / 2, H - B + 14, esc(categories.get(gi))));
            for (int si = 0; si < series.size(); si++) {
                double v = gi < series.get(si).values().length ? series.get(si).values()[gi] : 0;
                double h = (H - B - T) * v / top;
                b.append(String.format(Locale.ROOT, "<rect x='%.1f' y='%.1f' width='%.1f' height='%.1f' fill='%s'><title>%s %s: %s</title></rect>%n",
                        gx + gw * 0.1 + si * bw, H - B - h, bw, h, COLORS[si % COLORS.length], esc(series.get(si).name()),
                        esc(categories.get(gi)), fmt(v)));
            }
        }
        for (int si = 0; si < series.size(); si++) {
            legend(b, si, series.get(si).name(), COLORS[si % COLORS.length]);
        }
        return b.append("</svg>\n").toString();
    }

    private static StringBuilder open(String title) {
        StringBuilder b = new StringBuilder();
        b.append("<svg xmlns='http://www.w3.org/2000/svg' width='").append(W).append("' height='").append(H)
                .append("' font-family='sans-serif' role='img'><title>").append(esc(title)).append("</title>\n");
        b.append("<rect width='100%' height='100%' fill='white'/>\n");
        return b;
    }

    private static void axes(StringBuilder b, double top, String unit) {
        b.append(String.format(Locale.ROOT, "<line x1='%d' y1='%d' x2='%d' y2='%d' stroke='#333'/>%n", L, T, L, H - B));
        b.append(String.format(Locale.ROOT, "<line x1='%d' y1='%d' x2='%d' y2='%d' stroke='#333'/>%n", L, H - B, W - R, H - B));
        for (int i = 0; i <= 4; i++) {
            double v = top * i / 4;
            double y = H - B - (H - B - T) * i / 4.0;
            b.append(String.format(Locale.ROOT, "<line x1='%d' y1='%.1f' x2='%d' y2='%.1f' stroke='#ddd'/>%n", L, y, W - R, y));
            b.append(String.format(Locale.ROOT, "<text x='%d' y='%.1f' font-size='10' text-anchor='end'>%s</text>%n", L - 4, y + 3, fmt(v)));
        }
        b.append(String.format(Locale.ROOT, "<text x='12' y='%d' font-size='11' transform='rotate(-90 12 %d)' text-anchor='middle'>%s</text>%n",
                (H - B + T) / 2, (H - B + T) / 2, esc(unit)));
    }

    private static void legend(StringBuilder b, int i, String name, String color) {
        int y = T + 14 + i * 18;
        b.append(String.format(Locale.ROOT, "<rect x='%d' y='%d' width='12' height='12' fill='%s'/>%n", W - R + 12, y - 10, color));
        b.append(String.format(Locale.ROOT, "<text x='%d' y='%d' font-size='12'>%s</text>%n", W - R + 30, y, esc(name)));
    }

    static double niceTop(double max) {
        double mag = Math.pow(10, Math.floor(Math.log10(max)));
        for (double f : new double[] {1, 2, 2.5, 5, 10}) {
            if (f * mag >= max) {
                return f * mag;
            }
        }
        return 10 * mag;
    }

    static String fmt(double v) {
        if (v == Math.rint(v) && Math.abs(v) < 1e15) {
            return Long.toString((long) v);
        }
        return String.format(Locale.ROOT, "%.2f", v);
    }

    /**
     * XML/HTML escaping for text nodes and attribute values (single- or double-quoted); control
     * characters, which XML forbids, become {@code ?}.
     */
    public static String esc(String s) {
        StringBuilder b = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '<':
                    b.append("&lt;");
                    break;
                case '>':
                    b.append("&gt;");
                    break;
                case '&':
                    b.append("&amp;");
                    break;
                case '\'':
                    b.append("&#39;");
                    break;
                case '"':
                    b.append("&quot;");
                    break;
                default:
                    b.append(c < 0x20 ? '?' : c);
            }
        }
        return b.toString();
    }
}
