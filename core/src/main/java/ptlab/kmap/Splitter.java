package ptlab.kmap;

import java.util.List;
import ptlab.arch.Arm64Format;
import ptlab.arch.Geometry;
import ptlab.arch.Level;
import ptlab.arch.PageProt;
import ptlab.arch.PteFormat;
import ptlab.arch.TableKind;
import ptlab.cpu.Mutex;
import ptlab.pgtable.Mm;
import ptlab.pgtable.PageTables;
import ptlab.phys.PageDesc;
import ptlab.walk.Action;
import ptlab.walk.WalkCursor;
import ptlab.walk.WalkOps;
import ptlab.walk.WalkOptions;
import ptlab.walk.Walker;

/**
 * Splitting kernel leaves with the semantics of arm64 {@code mmu.c} (6.18 plus the Jan-2026
 * preallocation fix, seed 003), for every architecture with block leaves:
 * <ul>
 * <li>{@link #splitBlock}: {@code split_pud}/{@code split_pmd} - a block becomes a table of
 *     next-level leaves with the same output addresses and attributes (type page/block, CONT
 *     cleared, CONT set when {@code toCont} and the level has contiguous runs; arm64 copies PXN
 *     into PXNTable), the table is complete before the populate store;</li>
 * <li>{@link #splitCont}: {@code split_contpte}/{@code split_contpmd} - clear CONT across the
 *     aligned group, allocating nothing;</li>
 * <li>{@link #splitKernelLeafMapping}: under {@code pgtable_split_lock}, split so that
 *     {@code start} and {@code end} are leaf boundaries, one step at a time (PUD → cont-PMDs →
 *     PMDs → cont-PTEs → PTEs);</li>
 * <li>{@link #rangeSplitToPtes}: a lockless kernel walk splitting every leaf in a range down to
 *     non-contiguous PTEs with a caller's {@link PgtableAllocFn}.</li>
 * </ul>
 */
/*
 * Implementation notes. Both range operations are visitors of the one walk engine. A block
 * callback splits and answers AGAIN: the engine re-reads the entry, finds a table and descends
 * (the re-read rule), so a PUD split to PMD blocks is followed by the PMD splits inside it.
 * After split_pmd to plain PTEs the subtree is skipped, as mmu.c's ACTION_CONTINUE does.
 * A split replaces a live valid entry by a table that keeps every translation: BbmTracker
 * accepts that without a break only on CPUs with BBML2_NOABORT (or parked ones).
 */
public final class Splitter {
    private final PageTables pt;
    private final Geometry geo;
    private final PteFormat fmt;
    private final Walker walker;
    private final BbmTracker writer;
    private final Mutex splitLock;
    private final List<Level> levels;
    /** Whether kernel mappings use contiguous runs (arm64); elsewhere {@code to_cont} is ignored. */
    private final boolean contMappings;
    private long tablesUsed;

    Splitter(PageTables pt, Walker walker, BbmTracker writer, Mutex splitLock, boolean contMappings) {
        this.contMappings = contMappings;
        this.pt = pt;
        this.geo = pt.geometry();
        this.fmt = pt.format();
        this.walker = walker;
        this.writer = writer;
        this.splitLock = splitLock;
        this.levels = geo.levels();
    }

    /** Tables consumed by splits so far. */
    public long tablesUsed() {
        return tablesUsed;
    }

    private Level lower(Level l) {
        return levels.get(levels.indexOf(l) + 1);
    }

    /**
     * {@code split_pud}/{@code split_pmd}: replaces the block {@code e} at {@code table[index]}
     * (level {@code level}, covering {@code va}) by a table of next-level leaves.
     */
    public KmapResult splitBlock(PageDesc table, int index, Level level, long va, long e, PgtableAllocFn alloc, boolean toCont) {
        Level lower = lower(level);
        TableAlloc r = alloc.alloc(lower);
        if (r instanceof TableAlloc.Failed) {
            return KmapResult.noMemory(((TableAlloc.Failed) r).reason());
        }
        tablesUsed++;
        PageDesc t = ((TableAlloc.Table) r).desc();
        long base = fmt.outputAddress(level, e);
        PageProt prot = fmt.prot(level, e);
        long step = geo.entrySize(lower);
        int n = geo.entries(lower);
        boolean cont = toCont && runEntries(lower) > 0;
        long[] w = t.words();
        long first = fmt.mkLeaf(lower, base, prot);
        if (cont) {
            first = fmt.mkCont(first);
        }
        // The new table is not reachable yet: plain stores, published by the release store below.
        long oaStep = fmt.mkLeaf(lower, base + step, prot) - fmt.mkLeaf(lower, base, prot);
        // The output address is linear in the entry within one block (LPA2's PA[51:50] and
        // 64K's PA[51:48] do not change inside a block), so one addition per entry suffices.
        for (int i = 0; i < n; i++) {
            w[i] = first + i * oaStep;
        }
        long last = fmt.mkLeaf(lower, base + (n - 1) * step, prot);
        if (w[n - 1] != (cont ? fmt.mkCont(last) : last)) {
            throw new IllegalStateException("split of 0x" + Long.toHexString(e) + ": output address is not linear in the " + fmt.name()
                    + " encoding");
        }
        long tableEntry = fmt.mkTable(level, pt.pa(t), TableKind.KERNEL);
        if (fmt instanceof Arm64Format && (e & Arm64Format.PXN) != 0) {
            tableEntry |= Arm64Format.PXN_TABLE;
        }
        writer.write(table, index, level, va, tableEntry, true);
        return KmapResult.OK;
    }

    /** Entries of a contiguous run at {@code l} as kernel mappings use them (0: none). */
    private int runEntries(Level l) {
        return contMappings ? geo.contiguousEntries(l) : 0;
    }

    /** {@code split_contpte}/{@code split_contpmd}: clears CONT over the aligned group holding {@code index}. */
    public void splitCont(PageDesc table, int index, Level level, long va) {
        int n = geo.contiguousEntries(level);
        int first = index & -n;
        long size = geo.entrySize(level);
        long gva = (va & -size) - (long) (index - first) * size;
        for (int i = 0; i < n; i++) {
            long e = PageTables.read(table, first + i);
            if (fmt.isCont(e)) {
                writer.write(table, first + i, level, gva + i * size, fmt.mkNonCont(e), true);
            }
        }
    }

    /* ---- split_kernel_leaf_mapping ---- */

    /**
     * {@code split_kernel_leaf_mapping(start, end)}: takes the split mutex (may sleep) and
     * splits at {@code start} and {@code end}; for a single page only at the less aligned one.
     */
    public KmapResult splitKernelLeafMapping(long start, long end, PgtableAllocFn alloc) {
        long page = geo.pageSize();
        if ((start & (page - 1)) != 0 || (end & (page - 1)) != 0) {
            return KmapResult.invalid("split range [0x" + Long.toHexString(start) + ", 0x" + Long.toHexString(end) + ") is not page aligned");
        }
        if (Long.compareUnsigned(start, end) >= 0) {
            return KmapResult.invalid("split range [0x" + Long.toHexString(start) + ", 0x" + Long.toHexString(end) + ") is empty or inverted");
        }
        splitLock.lock();
        try {
            if (end - start == page) {
                long at = Long.numberOfTrailingZeros(start) < Long.numberOfTrailingZeros(end) ? start : end;
                return splitAt(at, alloc);
            }
            KmapResult r = splitAt(start, alloc);
            return r.ok() ? splitAt(end, alloc) : r;
        } finally {
            splitLock.unlock();
        }
    }

    /** {@code split_kernel_leaf_mapping_locked(addr)}. */
    KmapResult splitAt(long addr, PgtableAllocFn alloc) {
        splitLock.assertHeld();
        if (addr == 0) {
            return KmapResult.OK; // the top of the address space is always a boundary
        }
        AtBoundary ops = new AtBoundary(addr, alloc);
        walker.walk(pt.initMm(), addr, addr + geo.pageSize(), ops, WalkOptions.UNLOCKED);
        return ops.result;
    }

    private boolean aligned(long addr, long size) {
        return (addr & (size - 1)) == 0;
    }

    /** Descends to {@code addr}, splitting one step per level until {@code addr} is a leaf boundary. */
    private final class AtBoundary implements WalkOps {
        private final long addr;
        private final PgtableAllocFn alloc;
        KmapResult result = KmapResult.OK;

        AtBoundary(long addr, PgtableAllocFn alloc) {
            this.addr = addr;
            this.alloc = alloc;
        }

        /** The alignment that ends the descent at {@code l}: CONT group size where the level has runs. */
        private long boundary(Level l) {
            int n = runEntries(l);
            return geo.entrySize(l) * (n > 0 ? n : 1);
        }

        @Override
        public Action table(WalkCursor c) {
            return aligned(addr, boundary(c.level())) ? Action.STOP : Action.CONTINUE;
        }

        @Override
        public Action hole(WalkCursor c) {
            return Action.STOP;
        }

        @Override
        public Action hugeLeaf(WalkCursor c) {
            Level l = c.level();
            if (aligned(addr, boundary(l))) {
                return Action.STOP;
            }
            if (fmt.isCont(c.entry())) {
                splitCont(c.table(), c.index(), l, c.addr());
            }
            if (aligned(addr, geo.entrySize(l))) {
                return Action.STOP;
            }
            result = splitBlock(c.table(), c.index(), l, c.addr(), c.reread(), alloc, true);
            return result.ok() ? Action.AGAIN : Action.STOP;
        }

        @Override
        public Action pteRange(WalkCursor c, PageDesc table, int from, int to, long a, long pageSize) {
            if (aligned(addr, boundary(Level.PTE))) {
                return Action.STOP;
            }
            long e = PageTables.read(table, from);
            if (fmt.isPresent(e) && fmt.isCont(e)) {
                splitCont(table, from, Level.PTE, a);
            }
            return Action.STOP;
        }
    }

    /* ---- range_split_to_ptes ---- */

    /**
     * {@code range_split_to_ptes(start, end, pgtable_alloc)}: every block in the range becomes
     * plain PTEs, every contiguous run is broken. The caller owns the range exclusively
     * (split mutex, or stop_machine).
     */
    public KmapResult rangeSplitToPtes(long start, long end, PgtableAllocFn alloc) {
        ToPtes ops = new ToPtes(alloc);
        walker.walk(pt.initMm(), start, end, ops, WalkOptions.UNLOCKED);
        return ops.result;
    }

    private final class ToPtes implements WalkOps {
        private final PgtableAllocFn alloc;
        KmapResult result = KmapResult.OK;
        /** Set after a split straight to plain PTEs: skip that subtree (ACTION_CONTINUE). */
        private boolean skipNext;

        ToPtes(PgtableAllocFn alloc) {
            this.alloc = alloc;
        }

        @Override
        public Action table(WalkCursor c) {
            if (skipNext) {
                skipNext = false;
                return Action.SKIP_SUBTREE;
            }
            return Action.CONTINUE;
        }

        @Override
        public Action hugeLeaf(WalkCursor c) {
            Level l = c.level();
            if (fmt.isCont(c.entry())) {
                splitCont(c.table(), c.index(), l, c.addr());
            }
            result = splitBlock(c.table(), c.index(), l, c.addr(), c.reread(), alloc, false);
            if (!result.ok()) {
                return Action.STOP;
            }
            skipNext = lower(l) == Level.PTE;
            return Action.AGAIN;
        }

        @Override
        public Action pteRange(WalkCursor c, PageDesc table, int from, int to, long addr, long pageSize) {
            for (int i = from; i < to; i++, addr += pageSize) {
                long e = PageTables.read(table, i);
                if (fmt.isPresent(e) && fmt.isCont(e)) {
                    splitCont(table, i, Level.PTE, addr);
                }
            }
            return Action.CONTINUE;
        }
    }

    /* ---- counting (linear_map_prealloc_split_pgtables) ---- */

    /** Tables needed to split a leaf at {@code level} down to PTEs: 1 + entries(lower) * need(lower). */
    public long tablesToSplit(Level level) {
        Level lower = lower(level);
        return lower == Level.PTE ? 1 : 1 + geo.entries(lower) * tablesToSplit(lower);
    }

    /**
     * The counting walk of the preallocation fix: a PUD leaf needs {@code 1 + PTRS_PER_PMD}
     * tables, a PMD leaf 1 (generalised: {@link #tablesToSplit}).
     */
    public long countTablesToSplit(long start, long end) {
        long[] n = new long[1];
        walker.walk(pt.initMm(), start, end, new WalkOps() {
            @Override
            public Action hugeLeaf(WalkCursor c) {
                n[0] += tablesToSplit(c.level());
                return Action.CONTINUE;
            }

            @Override
            public Action table(WalkCursor c) {
                // collect_to_split_pmd_entry: ACTION_CONTINUE on PMD tables, nothing below needs tables.
                return lower(c.level()) == Level.PTE ? Action.SKIP_SUBTREE : Action.CONTINUE;
            }
        }, WalkOptions.UNLOCKED);
        return n[0];
    }

    /** Helper for callers that hold a mm other than init_mm: none today. */
    Mm initMm() {
        return pt.initMm();
    }
}
