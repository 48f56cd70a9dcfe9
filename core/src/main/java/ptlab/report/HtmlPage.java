package ptlab.report;

/** A self-contained HTML page: a title, sections of text, tables and inline SVG. */
public final class HtmlPage {
    private final StringBuilder body = new StringBuilder();
    private final String title;

    public HtmlPage(String title) {
        this.title = title;
    }

    public HtmlPage heading(String text) {
        body.append("<h2>").append(Svg.esc(text)).append("</h2>\n");
        return this;
    }

    public HtmlPage paragraph(String text) {
        body.append("<p>").append(Svg.esc(text)).append("</p>\n");
        return this;
    }

    /** Inline SVG produced by {@link Svg}. */
    public HtmlPage svg(String svg) {
        body.append("<figure>").append(svg).append("</figure>\n");
        return this;
    }

    /** A table; the first row is the header. */
    public HtmlPage table(java.util.List<java.util.List<String>> rows) {
        body.append("<table>\n");
        for (int r = 0; r < rows.size(); r++) {
            body.append("<tr>");
            for (String c : rows.get(r)) {
                String tag = r == 0 ? "th" : "td";
                body.append('<').append(tag).append('>').append(Svg.esc(c)).append("</").append(tag).append('>');
            }
            body.append("</tr>\n");
        }
        body.append("</table>\n");
        return this;
    }

    public String render() {
        return "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'><title>" + Svg.esc(title) + "</title>\n"
                + "<style>body{font-family:sans-serif;max-width:1000px;margin:2em auto;color:#222}"
                + "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}"
                + "th{background:#f0f0f0}figure{margin:1em 0}</style></head>\n<body>\n<h1>" + Svg.esc(title) + "</h1>\n"
                + body + "</body></html>\n";
    }
}
