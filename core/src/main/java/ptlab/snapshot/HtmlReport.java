package ptlab.snapshot;

import static ptlab.report.Svg.esc;

import java.util.ArrayList;
import java.util.List;
import ptlab.arch.Level;

/**
 * {@code --html FILE}: the analyze report as one self-contained page (inline CSS and SVG, no
 * script, no network): tables per level, occupancy histograms, the costliest VMAs, the what-ifs
 * and the verdict against VmPTE.
 */
public final class HtmlReport {
    private static final String[] COLORS = {"#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1"};

    private HtmlReport() {}

    public static String render(Analysis a, List<Analysis> whatIfs, int top) {
        Rebuilt r = a.rebuilt();
        Snapshot s = r.snapshot();
        StringBuilder h = new StringBuilder(16384);
        h.append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>ptlab snapshot ")
                .append(esc(s.status().name())).append("</title>\n<style>")
                .append("body{font-family:DejaVu Sans,Arial,sans-serif;margin:24px;color:#222;max-width:1100px}")
                .append("h1{font-size:22px}h2{font-size:17px;margin-top:28px;border-bottom:1px solid #ccc}")
                .append("table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #ddd;padding:3px 8px;text-align:right}")
                .append("td.l,th.l{text-align:left}.v{padding:10px;border-radius:6px;font-weight:bold}")
                .append(".MATCH{background:#e3f4e1}.EXPLAINED{background:#fff4d6}.UNEXPLAINED{background:#fbe0e0}")
                .append("svg text{font-family:DejaVu Sans,Arial,sans-serif;font-size:12px}</style></head><body>\n");
        h.append("<h1>Page tables of pid ").append(s.status().pid()).append(" (").append(esc(s.status().name())).append(")</h1>\n");
        h.append("<p>").append(s.maps().size()).append(" VMAs, ").append(r.present()).append(" present, ").append(r.swapped())
                .append(" swapped, ").append(r.markers()).append(" marker entries; rebuilt on <b>").append(esc(r.arch().name()))
                .append("</b> with ").append(r.thps()).append(" THP PMD mappings (each with a deposited PTE table) and ")
                .append(r.filePmds()).append(" file/hugetlb PMD mappings.</p>\n");
        long vmPte = s.status().vmPteKb();
        h.append("<div class=\"v ").append(a.verdict()).append("\">pgtables ").append(a.pgtablesBytes() >> 10).append(" kB, VmPTE ")
                .append(vmPte).append(" kB. ").append(esc(TextReport.verdictLine(a))).append("</div>\n");
        h.append("<h2>Page-table bytes: ptlab vs the recorded VmPTE</h2>\n");
        List<String> labels = new ArrayList<>();
        List<Long> values = new ArrayList<>();
        labels.add("ptlab " + r.arch().name());
        values.add(a.pgtablesBytes() >> 10);
        labels.add("VmPTE (recorded)");
        values.add(vmPte);
        for (Analysis w : whatIfs) {
            labels.add("what-if " + TextReport.whatIfName(w));
            values.add(w.pgtablesBytes() >> 10);
        }
        h.append(hbars(labels, values, "kB"));
        h.append("<h2>Tables per level</h2>\n<table><tr><th class=\"l\">level</th><th>tables</th><th>deposited</th><th>kB</th>")
                .append("<th>in VmPTE</th></tr>\n");
        labels.clear();
        values.clear();
        for (Analysis.LevelStats l : a.levels()) {
            h.append("<tr><td class=\"l\">").append(l.level().kernelName()).append("</td><td>").append(l.tables()).append("</td><td>")
                    .append(l.level() == Level.PTE ? Long.toString(l.deposited()) : "-").append("</td><td>").append(l.bytes() >> 10)
                    .append("</td><td>").append(l.countedInVmPte() ? "yes" : "no").append("</td></tr>\n");
            labels.add(l.level().kernelName());
            values.add(l.tables() + l.deposited());
        }
        h.append("</table>\n").append(hbars(labels, values, "tables"));
        h.append("<h2>Entry occupancy per level</h2>\n<p>Tables by the number of entries in use (upper levels: user half; deposited "
                + "PTE tables are empty).</p>\n");
        for (Analysis.LevelStats l : a.levels()) {
            String[] b = Analysis.bucketLabels(r.kernel().pageTables().geometry().entries(l.level()));
            h.append(histogram(l.level().kernelName(), b, l.histogram()));
        }
        h.append("<h2>VMAs that cost the most tables</h2>\n");
        labels.clear();
        values.clear();
        h.append("<table><tr><th>kB</th><th>pte</th><th>pmd</th><th>pud</th><th class=\"l\">VMA</th></tr>\n");
        int n = 0;
        for (Analysis.VmaCost c : a.vmaCosts()) {
            if (n++ == top || c.bytes() == 0) {
                break;
            }
            h.append("<tr><td>").append(c.bytes() >> 10).append("</td><td>").append(c.pteTables()).append("</td><td>").append(c.pmdTables())
                    .append("</td><td>").append(c.pudTables()).append("</td><td class=\"l\">").append(esc(c.label())).append("</td></tr>\n");
            labels.add(c.label().length() > 60 ? c.label().substring(0, 57) + "..." : c.label());
            values.add(c.bytes() >> 10);
        }
        h.append("</table>\n").append(hbars(labels, values, "kB"));
        List<String> notes = new ArrayList<>();
        for (Analysis x : TextReport.concat(a, whatIfs)) {
            for (String note : x.rebuilt().notes()) {
                notes.add(TextReport.whatIfName(x) + ": " + note);
            }
        }
        if (!a.hidden().pfnmap().isEmpty()) {
            notes.add("PFNMAP VMAs (pagemap shows none of their pages): " + String.join(", ", a.hidden().pfnmap()));
        }
        if (!notes.isEmpty()) {
            h.append("<h2>Notes</h2>\n<ul>");
            for (String note : notes) {
                h.append("<li>").append(esc(note)).append("</li>");
            }
            h.append("</ul>\n");
        }
        h.append("<p style=\"color:#777;font-size:12px\">ptlab snapshot analyze ").append(esc(s.dir().toString())).append("</p>\n");
        h.append("</body></html>\n");
        return h.toString();
    }

    /** Horizontal bars, one per label, scaled to the largest value. */
    static String hbars(List<String> labels, List<Long> values, String unit) {
        int row = 24;
        int labelW = 430;
        int barW = 520;
        int height = row * labels.size() + 10;
        long max = 1;
        for (long v : values) {
            max = Math.max(max, v);
        }
        StringBuilder b = new StringBuilder();
        b.append("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"").append(labelW + barW + 120).append("\" height=\"").append(height)
                .append("\" role=\"img\">");
        for (int i = 0; i < labels.size(); i++) {
            int y = 5 + i * row;
            long v = values.get(i);
            int w = (int) Math.max(v == 0 ? 0 : 2, v * barW / max);
            b.append("<text x=\"").append(labelW - 6).append("\" y=\"").append(y + 16).append("\" text-anchor=\"end\">")
                    .append(esc(labels.get(i))).append("</text>");
            b.append("<rect x=\"").append(labelW).append("\" y=\"").append(y + 3).append("\" width=\"").append(w).append("\" height=\"")
                    .append(row - 6).append("\" fill=\"").append(COLORS[i % COLORS.length]).append("\"/>");
            b.append("<text x=\"").append(labelW + w + 6).append("\" y=\"").append(y + 16).append("\">").append(v).append(' ').append(unit)
                    .append("</text>");
        }
        return b.append("</svg>\n").toString();
    }

    /** Vertical bars of one level's occupancy histogram. */
    static String histogram(String level, String[] buckets, long[] counts) {
        int colW = 70;
        int plotH = 110;
        long max = 1;
        for (long c : counts) {
            max = Math.max(max, c);
        }
        StringBuilder b = new StringBuilder();
        b.append("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"").append(60 + colW * buckets.length).append("\" height=\"")
                .append(plotH + 50).append("\" role=\"img\"><text x=\"0\" y=\"14\" font-weight=\"bold\">").append(esc(level))
                .append("</text>");
        for (int i = 0; i < buckets.length; i++) {
            int x = 50 + i * colW;
            int hgt = (int) (counts[i] * plotH / max);
            if (counts[i] > 0 && hgt < 2) {
                hgt = 2;
            }
            int y = 20 + plotH - hgt;
            b.append("<rect x=\"").append(x).append("\" y=\"").append(y).append("\" width=\"").append(colW - 12).append("\" height=\"")
                    .append(hgt).append("\" fill=\"#4e79a7\"/>");
            b.append("<text x=\"").append(x + (colW - 12) / 2).append("\" y=\"").append(y - 3).append("\" text-anchor=\"middle\">")
                    .append(counts[i]).append("</text>");
            b.append("<text x=\"").append(x + (colW - 12) / 2).append("\" y=\"").append(plotH + 38).append("\" text-anchor=\"middle\">")
                    .append(esc(buckets[i])).append("</text>");
        }
        return b.append("</svg>\n").toString();
    }

}
