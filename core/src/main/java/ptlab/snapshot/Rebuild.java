package ptlab.snapshot;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import ptlab.arch.Architecture;
import ptlab.arch.Level;
import ptlab.mm.Kernel;
import ptlab.mm.Process;
import ptlab.mm.Restore;
import ptlab.mm.Vma;
import ptlab.pgtable.KernelConfig;
import ptlab.pgtable.ThpMode;

/**
 * Rebuilds a snapshot's address space in a fresh simulated machine: every maps line below
 * {@link Pagemap#USER_LIMIT} becomes a VMA, every present or swapped pagemap entry a real
 * entry in real tables ({@link Restore}), every PMD mapping smaps reports a huge PMD with
 * Linux's deposit rule. The machine's RAM is sized to hold the tables and the pages.
 */
/*
 * Implementation notes.
 *
 * Which 2 MiB regions were PMD-mapped: pagemap shows every subpage of a PMD-mapped THP as
 * present and has no "huge" bit, so the count comes from smaps (AnonHugePages, FilePmdMapped,
 * ShmemPmdMapped, in kB) and the regions are the first that many aligned, fully present regions
 * of the VMA. The choice cannot change VmPTE: an anonymous region costs one PTE table whether
 * it is PMD-mapped (the deposit) or PTE-mapped, and a file region costs none if PMD-mapped and
 * one if not, whichever of the candidates it is. Huge-zero PMDs are invisible in smaps; they
 * rebuild as a PTE table of present pages, which costs the same one table as their deposit.
 *
 * Hugetlb VMAs (VmFlags ht) with a 2 MiB KernelPageSize map each huge page with a PMD leaf and
 * no deposit. Larger hugetlb pages (1 GiB) are rebuilt as PMD leaves too (ptlab has no PUD
 * leaf fault path), which costs one PMD table per GiB more than the kernel: the report says so.
 *
 * Another architecture (--arch): the same VMAs and entries, with ranges rounded out to the
 * granule (overlapping results merged) and each 4 KiB page mapped by the granule page that
 * holds it; recorded THP regions stay PMD leaves only where HPAGE_PMD_SIZE is 2 MiB. VMAs
 * beyond the architecture's TASK_SIZE are skipped and counted.
 *
 * Cost: the pagemap is read once, for the occupied entries of each maps line (only within the
 * capture's PagemapIndex extents when it has one); the huge regions are found from those entries
 * too, never by a walk over a VMA's 2 MiB regions, so a 64 TiB reservation with a few pages
 * costs its few entries (a walk with a pagemap read per region read the whole 128 GiB file).
 */
public final class Rebuild {
    /** HPAGE_PMD_SIZE of the captured machine (x86-64 with 4 KiB pages). */
    static final long CAPTURED_PMD = 2L << 20;

    private final Snapshot snap;
    private final Architecture arch;
    private final boolean thpAlways;
    private final List<String> notes = new ArrayList<>();
    private final Map<Long, SmapsEntry> smaps;
    /** Occupied pagemap entries per maps line (null above the user limit). */
    private final Pagemap.Occupied[] occ;

    private Rebuild(Snapshot snap, Architecture arch, boolean thpAlways) {
        this.snap = snap;
        this.arch = arch;
        this.thpAlways = thpAlways;
        this.smaps = snap.smapsByStart();
        this.occ = new Pagemap.Occupied[snap.maps().size()];
        for (int i = 0; i < occ.length; i++) {
            if (snap.pagemapBase()[i] >= 0) {
                occ[i] = snap.pagemap().occupied(snap.pagemapBase()[i], snap.maps().get(i).pages());
            }
        }
    }

    /** A VMA of the rebuilt space and the maps lines it came from (one, unless granule rounding merged some). */
    public record Target(long start, long end, int flags, Restore.Backing backing, long pgoff, List<Integer> sources, boolean pfnmap,
            boolean hugetlb) {}

    /**
     * Rebuilds {@code snap} on {@code arch}; with {@code thpAlways}, as if THP were {@code always}:
     * every aligned PMD region of an anonymous VMA (not {@code nh}) that holds a recorded entry
     * becomes a THP with its deposit.
     */
    public static Rebuilt run(Snapshot snap, Architecture arch, boolean thpAlways) {
        return new Rebuild(snap, arch, thpAlways).build();
    }

    private Rebuilt build() {
        long t0 = System.nanoTime();
        long granule = arch.geometry().pageSize();
        long taskSize = arch.userTop() - granule;
        List<Target> targets = targets(granule, taskSize);
        KernelConfig probe = KernelConfig.of(arch).withThp(ThpMode.NEVER);
        long pmd = arch.geometry().entrySize(arch.geometry().holder(Level.PMD));
        // Pass 1: decide the huge regions and size the machine.
        List<long[]> huge = new ArrayList<>();
        long present = 0;
        long swapped = 0;
        long markers = 0;
        long hugeRegions = 0;
        Set<Long> pteSpans = new HashSet<>();
        for (Target t : targets) {
            long[] h = hugeRegions(t, pmd);
            huge.add(h);
            hugeRegions += h.length;
            for (int src : t.sources()) {
                MapsEntry e = snap.maps().get(src);
                Pagemap.Occupied o = occ[src];
                for (int j = 0; j < o.size(); j++) {
                    long i = o.index()[j];
                    long pe = o.value()[j];
                    if ((pe & Pagemap.PRESENT) != 0) {
                        present++;
                    } else if (Pagemap.isMarker(pe)) {
                        markers++;
                    } else {
                        swapped++;
                    }
                    pteSpans.add((e.start() + (i << 12)) & -pmd);
                }
            }
        }
        long frames = present + hugeRegions * (pmd / granule) + 3L * pteSpans.size() + 4096;
        long ram = roundUp(frames * granule + frames * granule / 4 + (64L << 20), 1L << 30);
        Kernel k = new Kernel(probe.withRam(ram));
        Process p = k.newProcess(snap.status().name());
        boolean huge2m = Restore.pmdSize(k) == CAPTURED_PMD;
        // Pass 2: VMAs, then entries.
        List<Vma> vmas = new ArrayList<>();
        for (Target t : targets) {
            vmas.add(Restore.vma(p, t.start(), t.end(), t.flags(), t.backing(), t.pgoff()));
        }
        long thps = 0;
        long filePmds = 0;
        for (int ti = 0; ti < targets.size(); ti++) {
            Target t = targets.get(ti);
            Vma v = vmas.get(ti);
            long[] h = huge.get(ti);
            for (long haddr : h) {
                if (Restore.hugePmd(p, v, haddr)) {
                    if (v.isAnonymous()) {
                        thps++;
                    } else {
                        filePmds++;
                    }
                }
            }
            for (int src : t.sources()) {
                MapsEntry e = snap.maps().get(src);
                Pagemap.Occupied o = occ[src];
                for (int j = 0; j < o.size(); j++) {
                    long i = o.index()[j];
                    long pe = o.value()[j];
                    long va = (e.start() + (i << 12)) & -granule;
                    if (inHuge(h, va, pmd)) {
                        continue;
                    }
                    if ((pe & Pagemap.PRESENT) != 0) {
                        Restore.presentPage(p, v, va);
                    } else if (Pagemap.isMarker(pe)) {
                        // A PTE marker (guard region, uffd-wp on a none PTE): a swap-format entry of the marker type.
                        Restore.nonPresentEntry(p, va, k.pageTables().format().mkSwap(Pagemap.SWAP_TYPE_MARKER, 1 + (pe >>> 57 & 3)));
                    } else {
                        long off = Pagemap.swapOffset(pe);
                        Restore.nonPresentEntry(p, va, k.pageTables().format().mkSwap(Pagemap.swapType(pe), off == 0 ? 1 : off));
                    }
                }
            }
        }
        if (!huge2m && hugeRegions > 0 && !thpAlways) {
            notes.add("recorded 2 MiB PMD mappings are base pages on " + arch.name() + " (HPAGE_PMD_SIZE " + (pmd >> 10) + " kB)");
        }
        return new Rebuilt(snap, arch, thpAlways, k, p, targets, vmas, ram, present, swapped, markers, thps, filePmds, notes,
                (System.nanoTime() - t0) / 1_000_000);
    }

    /** The maps lines as VMAs of this architecture: rounded to the granule, merged where they then overlap. */
    private List<Target> targets(long granule, long taskSize) {
        List<Target> out = new ArrayList<>();
        int skipped = 0;
        for (int i = 0; i < snap.maps().size(); i++) {
            MapsEntry e = snap.maps().get(i);
            if (snap.pagemapBase()[i] < 0) {
                continue; // vsyscall and anything else above the user limit: not in the pagemap
            }
            long s = e.start() & -granule;
            long en = (e.end() + granule - 1) & -granule;
            if (Long.compareUnsigned(en, taskSize) > 0) {
                skipped++;
                continue;
            }
            SmapsEntry sm = smaps.get(e.start());
            int flags = (e.read() ? Vma.READ : 0) | (e.write() ? Vma.WRITE : 0) | (e.exec() ? Vma.EXEC : 0) | (e.shared() ? Vma.SHARED : 0);
            boolean pfnmap = false;
            boolean hugetlb = false;
            if (sm != null && sm.header().end() == e.end()) {
                flags |= sm.vmFlags().contains("hg") ? Vma.HUGEPAGE : 0;
                flags |= sm.vmFlags().contains("nh") ? Vma.NOHUGEPAGE : 0;
                pfnmap = sm.pfnmap();
                hugetlb = sm.hugetlb();
            }
            Restore.Backing b = e.anonymousPrivate() && !hugetlb ? Restore.Backing.ANON : Restore.Backing.FILE;
            long pgoff = (e.offset() >>> 12) - ((e.start() - s) >>> 12);
            if (!out.isEmpty() && Long.compareUnsigned(out.get(out.size() - 1).end(), s) > 0) {
                Target prev = out.remove(out.size() - 1);
                List<Integer> src = new ArrayList<>(prev.sources());
                src.add(i);
                out.add(new Target(prev.start(), Math.max(prev.end(), en), prev.flags() | flags, prev.backing(), prev.pgoff(), src,
                        prev.pfnmap() || pfnmap, prev.hugetlb() || hugetlb));
                continue;
            }
            out.add(new Target(s, en, flags, b, Math.max(0, pgoff), List.of(i), pfnmap, hugetlb));
        }
        if (skipped > 0) {
            notes.add(skipped + " VMA(s) do not fit " + arch.name() + "'s user address space (TASK_SIZE 0x" + Long.toHexString(taskSize)
                    + ") and were left out");
        }
        return out;
    }

    /** PMD-aligned regions of {@code t} to map with huge PMDs. */
    /**
     * Whether the architecture can map a PMD-sized THP at all (as Kernel's thpSupported): the PMD
     * level exists and takes leaves, and a PMD-sized folio is a buddy order (arm64 16K: 32 MiB is
     * order 11, above MAX_ORDER, so the what-if "THP always" has no huge regions there).
     */
    private boolean thpPossible(long pmd) {
        Level holder = arch.geometry().holder(Level.PMD);
        int order = Long.numberOfTrailingZeros(pmd) - arch.geometry().pageShift();
        return holder != Level.PTE && arch.geometry().leafAllowed(holder) && order <= ptlab.phys.BuddyAllocator.MAX_ORDER;
    }

    private long[] hugeRegions(Target t, long pmd) {
        List<Long> out = new ArrayList<>();
        if (thpAlways && t.backing() == Restore.Backing.ANON) {
            if ((t.flags() & Vma.NOHUGEPAGE) == 0 && pmd <= (1L << 30) && thpPossible(pmd)) {
                for (int src : t.sources()) {
                    occupiedRegions(src, t.start(), t.end(), pmd, false, Long.MAX_VALUE, out);
                }
            }
            return toArray(out);
        }
        if (pmd != CAPTURED_PMD || t.sources().size() != 1) {
            return new long[0];
        }
        int src = t.sources().get(0);
        MapsEntry e = snap.maps().get(src);
        SmapsEntry sm = smaps.get(e.start());
        if (sm == null || sm.header().end() != e.end()) {
            return new long[0];
        }
        if (sm.hugetlb()) {
            if (sm.kernelPageBytes() < pmd) {
                return new long[0];
            }
            if (sm.kernelPageBytes() > pmd) {
                notes.add(e.label() + ": " + (sm.kernelPageBytes() >> 20) + " MiB hugetlb pages rebuilt as 2 MiB PMD leaves (one PMD table "
                        + "per GiB more than the kernel's PUD leaves)");
            }
            occupiedRegions(src, e.start(), e.end(), pmd, false, Long.MAX_VALUE, out);
            return toArray(out);
        }
        long kb = t.backing() == Restore.Backing.ANON ? sm.kb("AnonHugePages") : sm.kb("FilePmdMapped") + sm.kb("ShmemPmdMapped");
        long want = kb / (pmd >> 10);
        if (want == 0) {
            return new long[0];
        }
        occupiedRegions(src, e.start(), e.end(), pmd, true, want, out);
        if (out.size() < want) {
            notes.add(e.label() + ": smaps reports " + want + " PMD mapping(s) but pagemap shows only " + out.size()
                    + " fully present aligned region(s) (the process changed during the capture?)");
        }
        return toArray(out);
    }

    /**
     * Appends to {@code out}, in ascending order and each once, the PMD-aligned regions wholly
     * inside {@code [lo, hi)} that hold an occupied entry of maps line {@code src} (with
     * {@code allPresent}: whose every 4 KiB page is present), until {@code out} holds {@code limit}.
     * Regions come from the occupied entries, not from a walk over the range, so a huge sparse VMA
     * costs its entries only.
     */
    private void occupiedRegions(int src, long lo, long hi, long pmd, boolean allPresent, long limit, List<Long> out) {
        long start = snap.maps().get(src).start();
        long[] idx = occ[src].index();
        long[] val = occ[src].value();
        for (int j = 0; j < idx.length && out.size() < limit;) {
            long h = (start + (idx[j] << 12)) & -pmd;
            int k = j;
            boolean present = true;
            for (; k < idx.length && ((start + (idx[k] << 12)) & -pmd) == h; k++) {
                present &= (val[k] & Pagemap.PRESENT) != 0;
            }
            boolean inside = Long.compareUnsigned(h, lo) >= 0 && Long.compareUnsigned(h + pmd, hi) <= 0 && h + pmd > h;
            boolean full = present && k - j == pmd >>> 12;
            if (inside && (full || !allPresent) && (out.isEmpty() || out.get(out.size() - 1) != h)) {
                out.add(h);
            }
            j = k;
        }
    }

    private static boolean inHuge(long[] h, long va, long pmd) {
        if (h.length == 0) {
            return false;
        }
        return java.util.Arrays.binarySearch(h, va & -pmd) >= 0;
    }

    private static long[] toArray(List<Long> l) {
        long[] a = new long[l.size()];
        for (int i = 0; i < a.length; i++) {
            a[i] = l.get(i);
        }
        return a;
    }

    static long roundUp(long v, long to) {
        return (v + to - 1) & -to;
    }
}
