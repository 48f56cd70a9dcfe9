package ptlab.snapshot;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import ptlab.arch.Architectures;
import ptlab.arch.Level;
import ptlab.arch.PteFormat;
import ptlab.check.Checker;
import ptlab.pgtable.PageTables;
import ptlab.phys.PageDesc;

/** Rebuilds of hand-made captures with exact expectations: deposits, file PMDs, hugetlb, swap and marker entries. */
class SnapshotRebuildTest {
    @TempDir
    Path tmp;

    @Test
    void mixedLayoutRebuildsWithLinuxDepositRules() throws Exception {
        Snapshot s = Snapshot.load(Synthetic.mixed().write(tmp.resolve("cap")));
        assertThat(s.maps()).hasSize(4);
        assertThat(s.pagemapBase()[3]).isEqualTo(-1);
        Rebuilt r = Rebuild.run(s, Architectures.defaultArch(), false);
        Analysis a = Analysis.of(r);
        Helpers.assertClean(a);
        assertThat(r.thps()).isEqualTo(1);
        assertThat(r.filePmds()).as("file THP and hugetlb page: PMDs without deposit").isEqualTo(2);
        assertThat(r.swapped()).isEqualTo(1);
        assertThat(r.markers()).isEqualTo(1);
        Analysis.LevelStats pte = a.levels().get(3);
        assertThat(pte.tables()).isEqualTo(1);
        assertThat(pte.deposited()).isEqualTo(1);
        assertThat(a.pgtablesBytes()).isEqualTo(16 << 10);
        assertThat(a.verdict()).isEqualTo(Analysis.Verdict.MATCH);
        // The swap entry is a real non-present entry in a real table.
        PageTables pt = r.kernel().pageTables();
        PteFormat fmt = pt.format();
        long va = 0x7f00_0000_0000L + (2 << 20) + 7 * 4096;
        PageDesc t = r.kernel().walker().installer().lookup(r.process().mm(), va, Level.PTE);
        long e = PageTables.read(t, 7);
        assertThat(fmt.isNone(e)).isFalse();
        assertThat(fmt.isPresent(e)).isFalse();
        assertThat(e).isEqualTo(fmt.mkSwap(1, 77));
        // Histogram: the PTE table holds 2 entries, the deposit 0.
        assertThat(pte.histogram()[2]).isEqualTo(1);
        assertThat(pte.histogram()[0]).isEqualTo(1);
        // Exit frees every table and page: only swapper_pg_dir and the zero page stay allocated.
        r.process().exit();
        assertThat(Checker.check(pt)).isEmpty();
        assertThat(pt.allocator().allocatedFrames()).isEqualTo((1L << r.arch().pgdOrder()) + 1);
    }

    @Test
    void vmPteAboveTheRebuildIsExplainedOnlyWithinTheHiddenTableBound() throws Exception {
        Snapshot s = Snapshot.load(Synthetic.mixed().vmPteKb(20).write(tmp.resolve("more")));
        Analysis a = Analysis.of(Rebuild.run(s, Architectures.defaultArch(), false));
        assertThat(a.verdict()).isEqualTo(Analysis.Verdict.EXPLAINED);
        assertThat(a.hidden().pteSpans()).as("the empty 2 MiB region of the anon VMA and the file VMA's first").isEqualTo(2);
        Snapshot less = Snapshot.load(Synthetic.mixed().vmPteKb(12).write(tmp.resolve("less")));
        assertThat(Analysis.of(Rebuild.run(less, Architectures.defaultArch(), false)).verdict()).isEqualTo(Analysis.Verdict.UNEXPLAINED);
        Snapshot far = Snapshot.load(Synthetic.mixed().vmPteKb(4096).write(tmp.resolve("far")));
        assertThat(Analysis.of(Rebuild.run(far, Architectures.defaultArch(), false)).verdict()).isEqualTo(Analysis.Verdict.UNEXPLAINED);
    }

    @Test
    void whatIfThpAlwaysAndOtherArchitectures() throws Exception {
        Snapshot s = Snapshot.load(Synthetic.mixed().write(tmp.resolve("cap")));
        Analysis always = Analysis.of(Rebuild.run(s, Architectures.defaultArch(), true));
        Helpers.assertClean(always);
        // The swap/marker region becomes a THP too: its deposit costs the same one PTE table.
        assertThat(always.rebuilt().thps()).isEqualTo(2);
        assertThat(always.pgtablesBytes()).isEqualTo(16 << 10);
        for (String name : List.of("arm64-64k-48", "arm64-16k-47", "x86_64-5l", "riscv-sv39", "arm64-4k-39")) {
            Analysis w = Analysis.of(Rebuild.run(s, Architectures.byName(name), false));
            Helpers.assertClean(w);
            assertThat(w.walkedBytes()).isEqualTo(w.pgtablesBytes());
        }
        Analysis a64 = Analysis.of(Rebuild.run(s, Architectures.byName("arm64-64k-48"), false));
        // 64 KiB granule: one 8192-entry PTE table (64 KiB) covers all 14 MiB; the PMD level is the root's child.
        assertThat(a64.levels().get(a64.levels().size() - 1).tables()).isEqualTo(1);
        StringWriter out = new StringWriter();
        TextReport.print(new PrintWriter(out), Analysis.of(Rebuild.run(s, Architectures.defaultArch(), false)), List.of(always, a64), 5);
        String text = out.toString();
        assertThat(text).contains("--thp always").contains("arm64-64k-48");
        assertThat(text.strip().lines().reduce((x, y) -> y).orElseThrow()).isEqualTo("pgtables_kB=16 VmPTE_kB=16");
        String html = HtmlReport.render(always, List.of(a64), 5);
        assertThat(html).contains("<svg").doesNotContain("<script").doesNotContain("src=").doesNotContain("href=");
    }

    @Test
    void swapEntriesAreNonPresentAndNotNoneOnEveryFormat() {
        for (var arch : Architectures.all()) {
            PteFormat f = arch.format();
            for (int type = 0; type < 32; type++) {
                for (long off : new long[] {1, 77, 1L << 30, (1L << 40) - 1}) {
                    long e = f.mkSwap(type, off);
                    assertThat(f.isNone(e)).as(arch + " type " + type + " off " + off).isFalse();
                    assertThat(f.isPresent(e)).as(arch + " type " + type + " off " + off).isFalse();
                }
            }
        }
    }

    /** A capture whose smaps lacks a mapping that maps lists was not written at one moment: refused, with the mapping named. */
    @Test
    void mapsAndSmapsOfDifferentMomentsAreRefused() throws Exception {
        Synthetic syn = Synthetic.mixed();
        Path dir = syn.write(tmp.resolve("torn"));
        String smaps = syn.smapsText();
        int second = smaps.indexOf('\n', smaps.indexOf("VmFlags:")) + 1; // the first mapping's block ends here
        Files.writeString(dir.resolve("smaps"), smaps.substring(0, second), java.nio.charset.StandardCharsets.ISO_8859_1);
        String firstMissing = syn.mapsText().lines().skip(1).findFirst().orElseThrow().split(" ")[0];
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> Snapshot.load(dir))
                .isInstanceOf(SnapshotFormatException.class)
                .hasMessage(dir.resolve("smaps") + ": has no block for maps' mapping " + firstMissing
                        + " (mapping 2): maps and smaps are not of one capture");
    }

    /**
     * A 64 TiB reservation (2^34 pages: a 128 GiB pagemap, written sparse) with a page at each end,
     * a guard marker, and a THP in the middle. The rebuild reads the capture's index, not 2^34
     * entries; the hidden-table bound still counts every span of the reservation: 2^25 PMD spans,
     * 2^16 PUD spans and 128 PGD entries, less the three of each that hold tables.
     */
    @Test
    void aHugeSparseReservationIsRebuiltFromItsOccupiedEntries() throws Exception {
        long start = 0x2000_0000_0000L;
        long size = 1L << 46;
        long pages = size >>> 12;
        java.util.Map<Long, Long> byPage = new java.util.TreeMap<>();
        byPage.put(0L, Pagemap.PRESENT | (1L << 56));
        for (long pg = 0; pg < 512; pg++) {
            byPage.put(pages / 2 + pg, Pagemap.PRESENT | (1L << 56));
        }
        byPage.put(pages - 100, Pagemap.SWAPPED | Pagemap.GUARD | 0x9f); // a guard marker as 6.18 shows it
        byPage.put(pages - 1, Pagemap.SWAPPED | 1 | (77L << 5));
        Path dir = new Synthetic().sparseVma(start, start + size, "rw-p", "", byPage, java.util.Map.of("Rss", 2052L, "AnonHugePages", 2048L,
                "Swap", 4L), "rd wr mr mw me ac hg").vmPteKb(36).writeIndexed(tmp.resolve("huge"));
        Snapshot s = Snapshot.load(dir);
        assertThat(s.pagemap().entries()).isEqualTo(pages);
        Rebuilt r = Rebuild.run(s, Architectures.defaultArch(), false);
        Analysis a = Analysis.of(r);
        Helpers.assertClean(a);
        assertThat(r.present()).isEqualTo(513);
        assertThat(r.swapped()).as("the swapped page").isEqualTo(1);
        assertThat(r.markers()).as("the guard marker: PM_SWAP and PM_GUARD_REGION, as pagemap shows one").isEqualTo(1);
        assertThat(r.thps()).isEqualTo(1);
        // PTE tables: the first and the last 2 MiB, and the THP's deposit; PMD and PUD tables: one per end and the middle.
        assertThat(a.levels().get(3).tables()).isEqualTo(2);
        assertThat(a.levels().get(3).deposited()).isEqualTo(1);
        assertThat(a.levels().get(2).tables()).isEqualTo(3);
        assertThat(a.levels().get(1).tables()).isEqualTo(3);
        assertThat(a.pgtablesBytes()).isEqualTo(36 << 10);
        assertThat(a.verdict()).isEqualTo(Analysis.Verdict.MATCH);
        assertThat(a.hidden().pteSpans()).isEqualTo((size >>> 21) - 3);
        assertThat(a.hidden().pmdSpans()).isEqualTo((size >>> 30) - 3);
        assertThat(a.hidden().pudSpans()).isEqualTo((size >>> 39) - 3);
        assertThat(a.hidden().boundBytes()).isEqualTo(((size >>> 21) + (size >>> 30) + (size >>> 39) - 9) * 4096);
        Analysis always = Analysis.of(Rebuild.run(s, Architectures.defaultArch(), true));
        assertThat(always.rebuilt().thps()).as("--thp always: each end's region too").isEqualTo(3);
    }

    /** The what-if "THP always" on arm64 16K, where a PMD-sized folio (32 MiB, order 11) cannot exist: no huge region, no throw. */
    @Test
    void thpAlwaysWhereThpCannotExistRebuildsWithPtes() throws Exception {
        long[] entries = new long[16384]; // 64 MiB of 4K pages, one present: a 32 MiB-aligned region to make huge
        entries[0] = Pagemap.PRESENT | (1L << 56);
        Snapshot s = Snapshot.load(new Synthetic().vma(0x7f00_0000_0000L, 0x7f00_0400_0000L, "rw-p", "", entries,
                java.util.Map.of("Rss", 4L, "Anonymous", 4L), "rd wr mr mw me ac").write(tmp.resolve("cap16k")));
        for (String arch : new String[] {"arm64-16k-36", "arm64-16k-47", "arm64-16k-52"}) {
            Rebuilt always = Rebuild.run(s, Architectures.byName(arch), true);
            Rebuilt plain = Rebuild.run(s, Architectures.byName(arch), false);
            assertThat(Analysis.of(always).pgtablesBytes()).as(arch).isEqualTo(Analysis.of(plain).pgtablesBytes());
        }
    }
}
