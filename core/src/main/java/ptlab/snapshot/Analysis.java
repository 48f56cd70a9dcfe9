package ptlab.snapshot;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import ptlab.arch.Geometry;
import ptlab.arch.Level;
import ptlab.arch.PteFormat;
import ptlab.mm.Vma;
import ptlab.pgtable.Installer;
import ptlab.pgtable.Mm;
import ptlab.pgtable.PageTables;
import ptlab.phys.PageDesc;
import ptlab.walk.Action;
import ptlab.walk.WalkCursor;
import ptlab.walk.WalkOps;
import ptlab.walk.WalkOptions;

/**
 * What a rebuilt address space's page tables are: tables and bytes per level (deposits apart),
 * entry occupancy per level, the VMAs that cost the most tables, and the bound on tables the
 * kernel may hold that a snapshot cannot show (tables with no present or swapped page).
 *
 * @param pgtablesBytes the mm's {@code pgtables_bytes} (what VmPTE reports), read from the mm
 * @param walkedBytes   the same sum recomputed from the walk and the deposits (must be equal)
 */
public record Analysis(Rebuilt rebuilt, List<LevelStats> levels, long pgtablesBytes, long walkedBytes, List<VmaCost> vmaCosts,
        Hidden hidden) {

    /** Histogram bucket labels; the last two depend on the table size. */
    public static String[] bucketLabels(int entries) {
        return new String[] {"0", "1", "2-8", "9-64", "65-256", "257-" + (entries - 1), Integer.toString(entries)};
    }

    static int bucket(int used, int entries) {
        if (used >= entries) {
            return 6;
        }
        if (used <= 1) {
            return used;
        }
        return used <= 8 ? 2 : used <= 64 ? 3 : used <= 256 ? 4 : 5;
    }

    /**
     * One run-time level.
     *
     * @param tables    live tables reachable from the root (the root counts its user-half entries only)
     * @param deposited PTE tables parked with huge PMDs (PTE level only; not in {@code tables})
     * @param histogram tables per occupancy bucket ({@link #bucketLabels}); deposits count as 0
     */
    public record LevelStats(Level level, long tables, long deposited, int tableBytes, boolean countedInVmPte, long[] histogram) {
        public long bytes() {
            return (tables + deposited) * tableBytes;
        }
    }

    /** Tables that hold entries of one VMA (a table shared with a neighbour counts for both). */
    public record VmaCost(String label, long pteTables, long pmdTables, long pudTables, long bytes) {}

    /**
     * Where the kernel may hold tables the snapshot cannot show.
     *
     * @param pteSpans   PMD-sized spans that meet a VMA but have no PTE table or huge PMD in the rebuild
     * @param pmdSpans   PUD-sized spans that meet a VMA but have no PMD table
     * @param pudSpans   P4D/PGD-entry spans that meet a VMA but have no PUD table
     * @param boundBytes the VmPTE bytes those tables would add at most
     * @param pfnmap     VMAs pagemap skips entirely (VM_PFNMAP: their pages never show as present)
     */
    public record Hidden(long pteSpans, long pmdSpans, long pudSpans, long boundBytes, List<String> pfnmap) {}

    public static Analysis of(Rebuilt r) {
        PageTables pt = r.kernel().pageTables();
        Geometry geo = pt.geometry();
        Mm mm = r.process().mm();
        Occupancy occ = new Occupancy(pt.format());
        r.kernel().walker().walk(mm, 0, r.arch().userTop(), occ, WalkOptions.UNLOCKED);
        List<Level> levels = geo.levels();
        long[][] hist = new long[Level.values().length][7];
        long[] tables = new long[Level.values().length];
        long deposited = 0;
        for (Map.Entry<PageDesc, int[]> e : occ.used.entrySet()) {
            Level l = e.getKey().level;
            tables[l.ordinal()]++;
            hist[l.ordinal()][bucket(e.getValue()[0], geo.entries(l))]++;
            if (l == geo.holder(Level.PMD) && pt.config().pmdTablesHavePtlock() && l == Level.PMD) {
                deposited += pt.deposits(mm, e.getKey()).size();
            }
        }
        if (!pt.config().pmdTablesHavePtlock()) {
            deposited += pt.deposits(mm, null).size();
        }
        hist[Level.PTE.ordinal()][0] += deposited;
        List<LevelStats> stats = new ArrayList<>();
        long walked = 0;
        for (Level l : levels) {
            long dep = l == Level.PTE ? deposited : 0;
            LevelStats s = new LevelStats(l, tables[l.ordinal()], dep, geo.tableBytes(l), pt.countedInVmPte(l), hist[l.ordinal()]);
            stats.add(s);
            if (s.countedInVmPte()) {
                walked += s.bytes();
            }
        }
        List<VmaCost> costs = new ArrayList<>();
        Hidden hidden = costsAndHidden(r, costs);
        costs.sort(Comparator.comparingLong(VmaCost::bytes).reversed());
        return new Analysis(r, stats, r.process().vmPteBytes(), walked, costs, hidden);
    }

    /** Counts the non-none entries of every table the walk meets (upper levels: user half only). */
    private static final class Occupancy implements WalkOps {
        final Map<PageDesc, int[]> used = new IdentityHashMap<>();
        private final PteFormat fmt;

        Occupancy(PteFormat fmt) {
            this.fmt = fmt;
        }

        private void count(PageDesc t, int n) {
            used.computeIfAbsent(t, x -> new int[1])[0] += n;
        }

        @Override
        public Action table(WalkCursor c) {
            count(c.table(), 1);
            return Action.CONTINUE;
        }

        @Override
        public Action hugeLeaf(WalkCursor c) {
            count(c.table(), 1);
            return Action.CONTINUE;
        }

        @Override
        public Action hole(WalkCursor c) {
            count(c.table(), fmt.isNone(c.entry()) ? 0 : 1);
            return Action.CONTINUE;
        }

        @Override
        public Action pteRange(WalkCursor c, PageDesc table, int from, int to, long addr, long pageSize) {
            int n = 0;
            for (int i = from; i < to; i++) {
                if (!fmt.isNone(PageTables.read(table, i))) {
                    n++;
                }
            }
            count(table, n);
            return Action.CONTINUE;
        }
    }

    /** Per-VMA table costs and the spans where hidden tables could be, from lookups in the rebuilt tables. */
    private static Hidden costsAndHidden(Rebuilt r, List<VmaCost> costs) {
        PageTables pt = r.kernel().pageTables();
        Geometry geo = pt.geometry();
        PteFormat fmt = pt.format();
        Installer ins = r.kernel().walker().installer();
        Mm mm = r.process().mm();
        Level pmdL = geo.holder(Level.PMD);
        Level pudL = geo.holder(Level.PUD);
        Level p4dL = geo.holder(Level.P4D);
        long pmdSpan = geo.entrySize(pmdL);
        long pudSpan = geo.entrySize(pudL);
        long p4dSpan = geo.entrySize(p4dL);
        boolean pmdCounted = pt.countedInVmPte(Level.PMD);
        boolean pudCounted = pt.countedInVmPte(Level.PUD);
        long tableSpan = pmdSpan * geo.entries(pmdL);
        boolean skipEmpty = pudSpan >= tableSpan && p4dSpan >= tableSpan;
        long lastPte = -1;
        long lastPmd = -1;
        long lastPud = -1;
        long ptes = 0;
        long pmds = 0;
        long puds = 0;
        List<String> pfnmap = new ArrayList<>();
        for (int i = 0; i < r.vmas().size(); i++) {
            Vma v = r.vmas().get(i);
            Rebuild.Target t = r.targets().get(i);
            String label = r.snapshot().maps().get(t.sources().get(0)).label() + (t.sources().size() > 1 ? " (+" + (t.sources().size() - 1)
                    + " merged)" : "");
            if (t.pfnmap()) {
                pfnmap.add(label);
            }
            long cPte = 0;
            long cPmd = 0;
            long cPud = 0;
            long prevPmdTable = -1;
            long prevPudTable = -1;
            for (long a = v.start() & -pmdSpan; Long.compareUnsigned(a, v.end()) < 0 && a + pmdSpan > a; a += pmdSpan) {
                long lo = Math.max(a, v.start());
                long hi = Math.min(a + pmdSpan, v.end());
                PageDesc pmdTable = ins.lookup(mm, a, pmdL);
                boolean used = false;
                if (pmdTable != null) {
                    long pmd = PageTables.read(pmdTable, geo.index(pmdL, a));
                    if (fmt.isLeaf(pmdL, pmd)) {
                        used = true;
                        if (v.isAnonymous()) {
                            cPte++; // the deposit
                        }
                    } else if (fmt.isTable(pmdL, pmd)) {
                        PageDesc pte = pt.child(pmdL, pmd);
                        if (anyEntry(pt, pte, geo.index(Level.PTE, lo), (int) ((hi - lo) >>> geo.pageShift()))) {
                            cPte++;
                            used = true;
                        }
                    }
                    if (used && pmdL == Level.PMD && pmdTable.pfn() != prevPmdTable) {
                        cPmd++;
                        prevPmdTable = pmdTable.pfn();
                        PageDesc pudTable = ins.lookup(mm, a, pudL);
                        if (pudL == Level.PUD && pudTable != null && pudTable.pfn() != prevPudTable) {
                            cPud++;
                            prevPudTable = pudTable.pfn();
                        }
                    }
                }
                // Hidden-table candidates (each span once, VMAs are in address order).
                boolean hasPteLevel = pmdTable != null && !fmt.isNone(PageTables.read(pmdTable, geo.index(pmdL, a)));
                if (!hasPteLevel && !t.hugetlb() && a != lastPte) {
                    ptes++;
                    lastPte = a;
                }
                long pa = a & -pudSpan;
                if (pmdCounted && ins.lookup(mm, a, pmdL) == null && pa != lastPmd) {
                    pmds++;
                    lastPmd = pa;
                }
                long pu = a & -p4dSpan;
                if (pudCounted && ins.lookup(mm, a, pudL) == null && pu != lastPud) {
                    puds++;
                    lastPud = pu;
                }
                long more = pmdTable == null && skipEmpty ? spansLeftInTable(a, v.end(), pmdSpan, tableSpan) : 0;
                if (more > 0 && !t.hugetlb()) {
                    ptes += more;
                    lastPte = a + more * pmdSpan;
                }
                a += more * pmdSpan;
            }
            long bytes = cPte * geo.tableBytes(Level.PTE) + (pmdCounted ? cPmd * geo.tableBytes(Level.PMD) : 0)
                    + (pudCounted ? cPud * geo.tableBytes(Level.PUD) : 0);
            costs.add(new VmaCost(label, cPte, pmdCounted ? cPmd : 0, pudCounted ? cPud : 0, bytes));
        }
        long bound = ptes * geo.tableBytes(Level.PTE) + (pmdCounted ? pmds * geo.tableBytes(Level.PMD) : 0)
                + (pudCounted ? puds * geo.tableBytes(Level.PUD) : 0);
        return new Hidden(ptes, pmdCounted ? pmds : 0, pudCounted ? puds : 0, bound, pfnmap);
    }

    /**
     * The spans after {@code a} that lie in {@code a}'s PMD-table span ({@code tableSpan}) and
     * below {@code end}. Where {@code a} has no PMD table, none of them has one either, so each
     * adds exactly what {@code a} added to the hidden-table counts, only to the PTE-table count
     * (the PMD and PUD spans are {@code a}'s, already counted): a huge empty VMA (a 64 TiB
     * reservation is 2^25 PMD spans) costs one pass per PMD-table span, not per PMD span.
     */
    private static long spansLeftInTable(long a, long end, long pmdSpan, long tableSpan) {
        long stop = Math.min((a & -tableSpan) + tableSpan, end);
        return Long.compareUnsigned(stop, a + pmdSpan) <= 0 ? 0 : (stop - a - 1) / pmdSpan;
    }

    private static boolean anyEntry(PageTables pt, PageDesc pte, int from, int n) {
        for (int i = from; i < from + n; i++) {
            if (!pt.format().isNone(PageTables.read(pte, i))) {
                return true;
            }
        }
        return false;
    }

    /** How ptlab's bytes compare with the recorded VmPTE. */
    public enum Verdict {
        MATCH,
        /** The kernel holds more, within what tables with no present or swapped page can account for. */
        EXPLAINED,
        UNEXPLAINED
    }

    public Verdict verdict() {
        long diff = (rebuilt.snapshot().status().vmPteKb() << 10) - pgtablesBytes;
        if (diff == 0) {
            return Verdict.MATCH;
        }
        int unit = rebuilt.kernel().pageTables().geometry().tableBytes(Level.PTE);
        if (diff > 0 && diff % unit == 0 && diff <= hidden.boundBytes()) {
            return Verdict.EXPLAINED;
        }
        return Verdict.UNEXPLAINED;
    }
}
