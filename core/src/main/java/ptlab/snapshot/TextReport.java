package ptlab.snapshot;

import java.io.PrintWriter;
import java.util.List;
import ptlab.arch.Level;

/**
 * The text report of {@code ptlab snapshot analyze}. Its last line is always
 * {@code pgtables_kB=N VmPTE_kB=M} (the contract in DESIGN.md).
 */
public final class TextReport {
    private TextReport() {}

    /** The sentence that says how ptlab's bytes compare with VmPTE, and why. */
    public static String verdictLine(Analysis a) {
        long vmPte = a.rebuilt().snapshot().status().vmPteKb() << 10;
        long diff = vmPte - a.pgtablesBytes();
        int unit = a.rebuilt().kernel().pageTables().geometry().tableBytes(Level.PTE);
        switch (a.verdict()) {
            case MATCH:
                return "MATCH: ptlab's page tables for the recorded pages are exactly VmPTE";
            case EXPLAINED:
                return "EXPLAINED: the kernel holds " + (diff >> 10) + " kB (" + diff / unit + " table(s)) more than the recorded pages need: "
                        + "page tables with no present or swapped page, which pagemap cannot show (a table outlives its pages after "
                        + "munmap next to a neighbour, MADV_DONTNEED without PT reclaim, reclaim of file pages; PFNMAP VMAs are "
                        + "invisible to pagemap); " + a.hidden().pteSpans() + " PMD spans and " + a.hidden().pmdSpans()
                        + " PUD spans of this layout could hold one (at most " + (a.hidden().boundBytes() >> 10) + " kB)";
            default:
                return "UNEXPLAINED: ptlab has " + (a.pgtablesBytes() >> 10) + " kB but VmPTE is " + (vmPte >> 10) + " kB"
                        + (diff < 0 ? " (ptlab built more tables than the kernel had: the process changed during the capture?)"
                                : " (more than tables with no present page can account for: at most " + (a.hidden().boundBytes() >> 10) + " kB)");
        }
    }

    public static void print(PrintWriter out, Analysis a, List<Analysis> whatIfs, int top) {
        Rebuilt r = a.rebuilt();
        Snapshot s = r.snapshot();
        long above = 0;
        for (long b : s.pagemapBase()) {
            if (b < 0) {
                above++;
            }
        }
        out.printf("snapshot %s: pid %d (%s), %d VMAs (%d above 0x800000000000, not in the pagemap), pagemap %d entries%n", s.dir(),
                s.status().pid(), s.status().name(), s.maps().size(), above, s.pagemap().entries());
        out.printf("entries: %d present, %d swapped, %d PTE markers%n", r.present(), r.swapped(), r.markers());
        out.printf("rebuilt on %s: %d THP PMD mapping(s) with deposits, %d file/shmem/hugetlb PMD mapping(s); %d GiB simulated RAM; %d ms%n",
                r.arch().name(), r.thps(), r.filePmds(), r.ramBytes() >> 30, r.millis());
        out.println("tables per level:");
        out.printf("  %-5s %8s %10s %10s  %s%n", "level", "tables", "deposited", "kB", "in VmPTE");
        for (Analysis.LevelStats l : a.levels()) {
            out.printf("  %-5s %8d %10s %10d  %s%n", l.level().kernelName(), l.tables(), l.level() == Level.PTE ? Long.toString(l.deposited()) : "-",
                    l.bytes() >> 10, l.countedInVmPte() ? "yes" : "no");
        }
        out.println("occupancy (tables by entries in use; upper levels: user half; deposited tables count as 0):");
        for (Analysis.LevelStats l : a.levels()) {
            String[] labels = Analysis.bucketLabels(r.kernel().pageTables().geometry().entries(l.level()));
            StringBuilder b = new StringBuilder("  ").append(String.format("%-5s", l.level().kernelName()));
            for (int i = 0; i < labels.length; i++) {
                b.append(' ').append(labels[i]).append(':').append(l.histogram()[i]);
            }
            out.println(b);
        }
        out.println("VMAs that cost the most tables (a table shared with a neighbouring VMA counts for each):");
        out.printf("  %8s %6s %5s %5s  %s%n", "kB", "pte", "pmd", "pud", "vma");
        int n = 0;
        for (Analysis.VmaCost c : a.vmaCosts()) {
            if (n++ == top || c.bytes() == 0) {
                break;
            }
            out.printf("  %8d %6d %5d %5d  %s%n", c.bytes() >> 10, c.pteTables(), c.pmdTables(), c.pudTables(), c.label());
        }
        if (!whatIfs.isEmpty()) {
            out.println("what-if (same recorded pages):");
            for (Analysis w : whatIfs) {
                out.printf("  %-28s pgtables %8d kB (%+d kB), %s%n", whatIfName(w), w.pgtablesBytes() >> 10,
                        (w.pgtablesBytes() - a.pgtablesBytes()) >> 10, perLevel(w));
            }
        }
        for (Analysis x : concat(a, whatIfs)) {
            for (String note : x.rebuilt().notes()) {
                out.println("note (" + whatIfName(x) + "): " + note);
            }
        }
        if (!a.hidden().pfnmap().isEmpty()) {
            out.println("PFNMAP VMAs (pagemap shows none of their pages): " + String.join(", ", a.hidden().pfnmap()));
        }
        if (a.walkedBytes() != a.pgtablesBytes()) {
            out.println("warning: walked tables make " + a.walkedBytes() + " bytes but the mm counts " + a.pgtablesBytes());
        }
        out.println(verdictLine(a));
        out.printf("pgtables_kB=%d VmPTE_kB=%d%n", a.pgtablesBytes() >> 10, s.status().vmPteKb());
        out.flush();
    }

    static String whatIfName(Analysis w) {
        return w.rebuilt().arch().name() + (w.rebuilt().thpAlways() ? " --thp always" : "");
    }

    static String perLevel(Analysis w) {
        StringBuilder b = new StringBuilder();
        for (Analysis.LevelStats l : w.levels()) {
            if (b.length() > 0) {
                b.append(' ');
            }
            b.append(l.level().kernelName()).append('=').append(l.tables());
            if (l.level() == Level.PTE && l.deposited() > 0) {
                b.append("+").append(l.deposited()).append("dep");
            }
        }
        return b + ", THPs " + w.rebuilt().thps();
    }

    static List<Analysis> concat(Analysis a, List<Analysis> rest) {
        List<Analysis> all = new java.util.ArrayList<>();
        all.add(a);
        all.addAll(rest);
        return all;
    }
}
