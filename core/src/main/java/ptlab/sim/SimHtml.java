package ptlab.sim;

import java.util.ArrayList;
import java.util.List;
import ptlab.arch.Geometry;
import ptlab.arch.Level;
import ptlab.cpu.Violation;
import ptlab.report.HtmlPage;
import ptlab.report.Svg;

/**
 * The {@code --report} page of {@code ptlab simulate}: a summary with the text summary's numbers
 * (tables per level at the peak, peak NR_PAGETABLE, counters), then for each architecture page-table memory
 * per level over the steps of the scenario, NR_PAGETABLE against the processes' VmPTE, entry
 * occupancy per level at the peak, and the counters. Self-contained (inline SVG, no scripts).
 */
public final class SimHtml {
    private SimHtml() {}

    public static String render(List<SimReport> reports, String scenarioName) {
        HtmlPage page = new HtmlPage("ptlab simulate: " + scenarioName);
        page.paragraph(reports.size() + " architecture(s); the same scenario on each. Memory is in KiB of page-table pages.");
        List<List<String>> rows = new ArrayList<>();
        List<String> head = new ArrayList<>(List.of("arch"));
        for (Level l : Level.values()) {
            head.add(l.kernelName());
        }
        head.addAll(List.of("peak NR_PAGETABLE (KiB)", "peak VmPTE (KiB)", "ctors", "dtors", "split tables", "TLB flushes",
                "shootdowns", "grace periods", "violations", "ms"));
        rows.add(head);
        for (SimReport r : reports) {
            Sample peak = r.peak();
            Geometry g = r.config().arch().geometry();
            long pageKb = g.pageSize() >> 10;
            List<String> row = new ArrayList<>(List.of(r.config().arch().name()));
            for (Level l : Level.values()) {
                row.add(g.isFolded(l) ? "-" : Long.toString(peak.tables()[l.ordinal()]));
            }
            row.addAll(List.of(Long.toString(peak.nrPagetable() * pageKb), Long.toString(maxVmPte(r) >> 10),
                    Long.toString(r.counters().ctors()), Long.toString(r.counters().dtors()), Long.toString(r.counters().splitTables()),
                    Long.toString(r.counters().tlbFlushes()), Long.toString(r.counters().shootdowns()),
                    Long.toString(r.counters().gracePeriods()), Integer.toString(r.violations().size()), Long.toString(r.millis())));
            rows.add(row);
        }
        page.heading("Summary").table(rows);
        page.paragraph("pgd to pte: tables per level at the peak of NR_PAGETABLE (every mm, init_mm included; '-': folded), as in "
                + "the text summary; peak VmPTE: the largest sum of the processes' VmPTE after any step; ms: wall time of the run.");
        for (SimReport r : reports) {
            section(page, r);
        }
        return page.render();
    }

    /**
     * Why the occupancy totals differ from the tables per level of the summary: they count what a
     * walk from each PGD reaches, not what NR_PAGETABLE counts.
     */
    static final String OCCUPANCY_NOTE = "Occupancy counts the tables a walk from each PGD reaches at the peak, so its totals differ "
            + "from the summary's tables per level: it includes init_mm's PGD (swapper_pg_dir, a static table) and the tables "
            + "boot made with the early allocator, which NR_PAGETABLE does not count, and leaves out the PTE tables deposited "
            + "for THPs, which NR_PAGETABLE counts but no entry points to.";

    private static long maxVmPte(SimReport r) {
        long m = 0;
        for (Sample s : r.samples()) {
            m = Math.max(m, s.vmPteBytes());
        }
        return m;
    }

    private static void section(HtmlPage page, SimReport r) {
        Geometry g = r.config().arch().geometry();
        page.heading(r.config().arch().name() + " (" + g.levels().size() + " levels, " + (g.pageSize() >> 10) + " KiB pages)");
        List<String> x = new ArrayList<>();
        for (Sample s : r.samples()) {
            x.add(s.line() > 0 ? s.line() + " " + s.label() : s.label());
        }
        List<Svg.Series> perLevel = new ArrayList<>();
        for (Level l : g.levels()) {
            double[] v = new double[r.samples().size()];
            for (int i = 0; i < v.length; i++) {
                v[i] = r.samples().get(i).tables()[l.ordinal()] * (double) g.tableBytes(l) / 1024;
            }
            perLevel.add(new Svg.Series(l.kernelName(), v));
        }
        page.svg(Svg.lineChart("page-table memory per level over the scenario", "KiB", x, perLevel));
        double[] nr = new double[r.samples().size()];
        double[] vm = new double[r.samples().size()];
        for (int i = 0; i < nr.length; i++) {
            nr[i] = r.samples().get(i).nrPagetable() * (double) g.pageSize() / 1024;
            vm[i] = r.samples().get(i).vmPteBytes() / 1024.0;
        }
        page.svg(Svg.lineChart("NR_PAGETABLE (all mms, init_mm included) and the processes' VmPTE", "KiB", x,
                List.of(new Svg.Series("NR_PAGETABLE", nr), new Svg.Series("sum of VmPTE", vm))));
        if (r.occupancyAtPeak() != null) {
            List<String> buckets = new ArrayList<>();
            for (int b = 0; b < Occupancy.BUCKETS; b++) {
                buckets.add(Occupancy.label(b));
            }
            List<Svg.Series> occ = new ArrayList<>();
            for (Level l : g.levels()) {
                double[] v = new double[Occupancy.BUCKETS];
                for (int b = 0; b < v.length; b++) {
                    v[b] = r.occupancyAtPeak().count(l, b);
                }
                occ.add(new Svg.Series(l.kernelName(), v));
            }
            page.svg(Svg.barChart("entry occupancy at the peak: tables per share of entries in use", "tables", buckets, occ));
            List<List<String>> t = new ArrayList<>();
            List<String> head = new ArrayList<>();
            head.add("level");
            head.addAll(buckets);
            t.add(head);
            for (Level l : g.levels()) {
                List<String> row = new ArrayList<>();
                row.add(l.kernelName());
                for (int b = 0; b < Occupancy.BUCKETS; b++) {
                    row.add(Long.toString(r.occupancyAtPeak().count(l, b)));
                }
                t.add(row);
            }
            page.table(t);
            page.paragraph(OCCUPANCY_NOTE);
        }
        SimReport.Counters c = r.counters();
        page.table(List.of(List.of("counter", "value"),
                List.of("ctors / dtors", c.ctors() + " / " + c.dtors()),
                List.of("ptlock inits (dynamic)", c.ptlockInits() + " (" + c.dynamicPtlocks() + ")"),
                List.of("kernel-half syncs (entries copied)", c.syncCalls() + " (" + c.syncCopies() + ")"),
                List.of("install races lost", Long.toString(c.installRacesLost())),
                List.of("tables made by the linear-map split", Long.toString(c.splitTables())),
                List.of("hot-added MiB", Long.toString(c.hotAddedBytes() >> 20)),
                List.of("TLB flushes / shootdowns", c.tlbFlushes() + " / " + c.shootdowns()),
                List.of("lockless walks (no table) / translations", c.locklessWalks() + " (" + c.walkRetries() + ") / " + c.translations()),
                List.of("RCU grace periods", Long.toString(c.gracePeriods())),
                List.of("checker runs", Long.toString(c.checks())),
                List.of("calls the kernel refused (errno)", Long.toString(c.failedCalls()))));
        if (!r.violations().isEmpty()) {
            List<List<String>> v = new ArrayList<>();
            v.add(List.of("violation", "detail"));
            for (Violation x2 : r.violations()) {
                v.add(List.of(x2.kind(), x2.detail()));
            }
            page.table(v);
        } else {
            page.paragraph("violations: 0");
        }
    }
}
