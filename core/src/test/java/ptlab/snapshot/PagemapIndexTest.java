package ptlab.snapshot;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import ptlab.arch.Architectures;
import ptlab.arch.Level;

/**
 * {@code DIR/pagemap.index}: capture writes where the occupied entries are, and a rebuild reads
 * only there. Not timed: the index is checked by what a rebuild finds, which differs when the
 * entries outside it are read.
 */
class PagemapIndexTest {
    @TempDir
    Path tmp;

    private static final long A = 0x1000_0000L; // low addresses keep the fake /proc/PID/pagemap small
    private static final long GIB = 1L << 30;
    private static final long SOFT_DIRTY = 1L << 55;

    /** A fake /proc/PID: three VMAs (1 GiB, 1 GiB, 2 MiB) and a sparse pagemap holding {@code entries} (address to entry). */
    private Path fakeProc(Map<Long, Long> entries) throws Exception {
        Path p = Files.createDirectories(tmp.resolve("proc"));
        String maps = String.format("%x-%x rw-p 00000000 00:00 0 %n%x-%x rw-p 00000000 00:00 0 %n%x-%x rw-p 00000000 00:00 0 %n",
                A, A + GIB, A + GIB, A + 2 * GIB, A + 3 * GIB, A + 3 * GIB + (2 << 20));
        StringBuilder smaps = new StringBuilder();
        for (String line : maps.split("\n")) {
            smaps.append(line).append("\nSize:                  8 kB\nRss:                   0 kB\nVmFlags: rd wr mr mw me ac \n");
        }
        Files.writeString(p.resolve("maps"), maps);
        Files.writeString(p.resolve("smaps"), smaps.toString());
        Files.writeString(p.resolve("status"), "Name:\tfake\nVmPTE:\t       8 kB\n");
        try (FileChannel ch = FileChannel.open(p.resolve("pagemap"), StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
            for (Map.Entry<Long, Long> e : entries.entrySet()) {
                ch.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(0, e.getValue()), (e.getKey() >>> 12) * 8);
            }
        }
        return p;
    }

    /**
     * The captured pagemap holds every entry as /proc gave it (soft-dirty-only entries of pages
     * with no PTE too), and the index exactly the occupied ones: one extent per 64 Ki-entry block
     * that has any, from its first to its last.
     */
    @Test
    void captureCopiesEveryEntryAndIndexesTheOccupiedOnes() throws Exception {
        Map<Long, Long> entries = new TreeMap<>();
        entries.put(A + 5 * 4096, Pagemap.PRESENT | 0x1234);
        entries.put(A + 9 * 4096, Pagemap.SWAPPED | 1 | (77L << 5));
        entries.put(A + 200_000 * 4096L, Pagemap.GUARD | Pagemap.SWAPPED);
        for (long pg = 70_000; pg < 70_100; pg++) {
            entries.put(A + GIB + pg * 4096, SOFT_DIRTY);
        }
        entries.put(A + 3 * GIB + 4096, Pagemap.PRESENT | Pagemap.FILE_OR_SHARED);
        Path cap = tmp.resolve("cap");
        long pages = Capture.capture(fakeProc(entries), cap);
        long vma3 = 2 * (GIB >> 12);
        assertThat(pages).isEqualTo(vma3 + 512);
        ByteBuffer got = ByteBuffer.wrap(Files.readAllBytes(cap.resolve("pagemap"))).order(ByteOrder.LITTLE_ENDIAN);
        assertThat(got.capacity()).isEqualTo(pages * 8);
        Map<Long, Long> nonZero = new TreeMap<>();
        for (int i = 0; i < pages; i++) {
            if (got.getLong(i * 8) != 0) {
                nonZero.put(i < vma3 ? A + i * 4096L : A + 3 * GIB + (i - vma3) * 4096L, got.getLong(i * 8));
            }
        }
        assertThat(nonZero).isEqualTo(entries);
        long[][] index = PagemapIndex.read(cap, pages);
        assertThat(index[0]).containsExactly(5, 200_000, vma3 + 1);
        assertThat(index[1]).containsExactly(10, 200_001, vma3 + 2);
    }

    /** 1 GiB of anonymous memory with a present page and two fully present 2 MiB regions, one smaps THP. */
    private static Synthetic twoFullRegions() {
        Map<Long, Long> byPage = new TreeMap<>();
        byPage.put(3L, Pagemap.PRESENT | (1L << 56));
        for (long pg = 0; pg < 512; pg++) {
            byPage.put(1024 + pg, Pagemap.PRESENT | (1L << 56)); // 4 MiB: the first fully present region
            byPage.put(4096 + pg, Pagemap.PRESENT | (1L << 56)); // 16 MiB
        }
        return new Synthetic().sparseVma(0x7f00_0000_0000L, 0x7f00_0000_0000L + GIB, "rw-p", "", byPage,
                Map.of("Rss", 4100L, "AnonHugePages", 2048L), "rd wr mr mw me ac hg");
    }

    private static boolean pmdLeafAt(Rebuilt r, long va) {
        var ins = r.kernel().walker().installer();
        var pmdTable = ins.lookup(r.process().mm(), va, Level.PMD);
        return pmdTable != null && r.kernel().pageTables().format().isLeaf(Level.PMD,
                ptlab.pgtable.PageTables.read(pmdTable, r.kernel().pageTables().geometry().index(Level.PMD, va)));
    }

    /**
     * An index that leaves out the region at 4 MiB (a capture's index never does: this one is
     * written by hand) proves that nothing outside it is read: the present pages there are not
     * rebuilt, and smaps' one THP is the next fully present region, at 16 MiB. Without the index,
     * or with one whose pagemap was modified after it was written, the whole pagemap is read.
     */
    @Test
    void rebuildReadsOnlyTheIndexedExtents() throws Exception {
        Path dir = twoFullRegions().write(tmp.resolve("cap"));
        PagemapIndex.Builder lying = new PagemapIndex.Builder();
        lying.add(3, 4);
        lying.add(4096, 4608);
        lying.write(dir);
        long base = 0x7f00_0000_0000L;
        Rebuilt indexed = Rebuild.run(Snapshot.load(dir), Architectures.defaultArch(), false);
        assertThat(indexed.present()).isEqualTo(1 + 512);
        assertThat(indexed.thps()).isEqualTo(1);
        assertThat(pmdLeafAt(indexed, base + (16 << 20))).as("THP at 16 MiB").isTrue();
        Helpers.assertClean(Analysis.of(indexed));

        Path pm = dir.resolve("pagemap");
        Files.setLastModifiedTime(pm, FileTime.fromMillis(Files.getLastModifiedTime(pm).toMillis() + 1000));
        Rebuilt stale = Rebuild.run(Snapshot.load(dir), Architectures.defaultArch(), false);
        assertThat(stale.present()).as("a pagemap modified after its index is read in full").isEqualTo(1 + 2 * 512);
        assertThat(pmdLeafAt(stale, base + (4 << 20))).as("THP at 4 MiB").isTrue();

        Files.delete(dir.resolve(PagemapIndex.FILE));
        Rebuilt full = Rebuild.run(Snapshot.load(dir), Architectures.defaultArch(), false);
        assertThat(full.present()).isEqualTo(1 + 2 * 512);
        assertThat(pmdLeafAt(full, base + (4 << 20))).isTrue();
        assertThat(pmdLeafAt(full, base + (16 << 20))).isFalse();
    }

    /** A capture's own index changes nothing: the same analysis with and without it, the what-ifs too. */
    @Test
    void aTrueIndexGivesTheSameAnalysisAsNone() throws Exception {
        Path with = Synthetic.mixed().writeIndexed(tmp.resolve("with"));
        Path without = Synthetic.mixed().write(tmp.resolve("without"));
        assertThat(with.resolve(PagemapIndex.FILE)).exists();
        for (boolean thpAlways : new boolean[] {false, true}) {
            for (String arch : new String[] {"x86_64-4l", "arm64-64k-48", "riscv-sv39"}) {
                Analysis a = Analysis.of(Rebuild.run(Snapshot.load(with), Architectures.byName(arch), thpAlways));
                Analysis b = Analysis.of(Rebuild.run(Snapshot.load(without), Architectures.byName(arch), thpAlways));
                String what = arch + (thpAlways ? " --thp always" : "");
                assertThat(a.pgtablesBytes()).as(what).isEqualTo(b.pgtablesBytes());
                assertThat(a.hidden()).as(what).isEqualTo(b.hidden());
                assertThat(a.vmaCosts()).as(what).isEqualTo(b.vmaCosts());
                assertThat(a.rebuilt().present()).as(what).isEqualTo(b.rebuilt().present());
                assertThat(a.rebuilt().thps()).as(what).isEqualTo(b.rebuilt().thps());
            }
        }
    }

    /** A malformed index is bad input like any capture file: one line naming the file and line. */
    @Test
    void aMalformedIndexIsOneLineNamingIt() throws Exception {
        Path dir = twoFullRegions().write(tmp.resolve("cap"));
        long entries = GIB >> 12;
        long mtime = Files.getLastModifiedTime(dir.resolve("pagemap")).to(java.util.concurrent.TimeUnit.NANOSECONDS);
        String head = "ptlab pagemap index 1\npagemap " + entries * 8 + " " + mtime + "\n";
        String[][] cases = {
            {"pagemap index 2\n", ":1: not a ptlab pagemap index"},
            {head + "3 4\n4096", ":4: truncated"},
            {head + "4096 4608\n3 4\n", ":4: extent 3-4 is empty, out of order"},
            {head + "3 " + (entries + 1) + "\n", ":3: extent 3-" + (entries + 1) + " is empty, out of order or beyond the pagemap's"},
            {head + "3 x\n", ":3: malformed line '3 x'"},
            {"ptlab pagemap index 1\npagemap\n", ":2: malformed line 'pagemap'"},
        };
        for (String[] c : cases) {
            Files.writeString(dir.resolve(PagemapIndex.FILE), c[0]);
            assertThatThrownBy(() -> Snapshot.load(dir)).as(c[0])
                    .isInstanceOf(SnapshotFormatException.class)
                    .hasMessageStartingWith(dir.resolve(PagemapIndex.FILE) + c[1])
                    .hasMessageNotContaining("\n");
        }
    }
}
