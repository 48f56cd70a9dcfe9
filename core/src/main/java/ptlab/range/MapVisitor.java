package ptlab.range;

import java.util.ArrayList;
import java.util.List;
import ptlab.arch.Level;
import ptlab.arch.PageProt;
import ptlab.arch.PteFormat;
import ptlab.cpu.SpinLock;
import ptlab.pgtable.Installer;
import ptlab.pgtable.Mm;
import ptlab.pgtable.PageTables;
import ptlab.pgtable.PgtblMask;
import ptlab.phys.PageDesc;
import ptlab.phys.Words;
import ptlab.walk.Action;
import ptlab.walk.WalkCursor;
import ptlab.walk.WalkOps;

/**
 * {@code vmap_range_noflush} / {@code remap_pfn_range} as a visitor: installs the tables the
 * range needs down to the leaf level ({@code p?d_alloc_track}) and writes leaves mapping
 * {@code pa + (addr - start)}. Every table this walk installed is remembered, so a failure can
 * be rolled back ({@link PageRanges#map}).
 */
/*
 * Implementation notes. A hole above the leaf level is filled by an install and answered with
 * AGAIN: the walker re-reads the entry, now a table, and descends (the re-read rule). A hole at
 * the leaf level takes a huge leaf, written under its lock with a release-store (set_pmd_at).
 * PTEs are written in pteRange under the PTE lock the walker holds. Anything not none on the way
 * is a conflict: the pre-check (Probe) makes that impossible unless someone maps concurrently.
 */
final class MapVisitor implements WalkOps {
    /** A table this map installed: {@code parent[index]} of {@code parentLevel} points to {@code table}. */
    record Installed(PageDesc parent, int index, Level parentLevel, PageDesc table) {}

    private final PageTables pt;
    private final PteFormat fmt;
    private final Installer installer;
    private final List<Level> levels;
    private final Mm mm;
    private final Level leaf;
    private final long start;
    private final long pa;
    private final PageProt prot;
    final List<Installed> installed = new ArrayList<>();
    /** Levels populated (PGTBL_*_MODIFIED), for arch_sync_kernel_mappings. */
    final PgtblMask mask = new PgtblMask();

    MapVisitor(PageRanges r, Mm mm, Level leaf, long start, long pa, PageProt prot) {
        this.pt = r.pt;
        this.fmt = pt.format();
        this.installer = r.walker.installer();
        this.levels = pt.geometry().levels();
        this.mm = mm;
        this.leaf = leaf;
        this.start = start;
        this.pa = pa;
        this.prot = prot;
    }

    @Override
    public Action table(WalkCursor c) {
        if (c.level() == leaf) {
            throw new RangeConflictException("map: 0x" + Long.toHexString(c.addr()) + " gained a table concurrently");
        }
        return Action.CONTINUE;
    }

    @Override
    public Action hugeLeaf(WalkCursor c) {
        throw new RangeConflictException("map: 0x" + Long.toHexString(c.addr()) + " gained a leaf concurrently");
    }

    @Override
    public Action hole(WalkCursor c) {
        if (!fmt.isNone(c.entry())) {
            throw new RangeConflictException("map: 0x" + Long.toHexString(c.addr()) + " holds a non-present entry");
        }
        if (c.level() == leaf) {
            SpinLock l = LeafLocks.of(pt, mm, leaf, c.table());
            l.lock();
            try {
                if (!fmt.isNone(c.reread())) {
                    throw new RangeConflictException("map: 0x" + Long.toHexString(c.addr()) + " was mapped concurrently");
                }
                c.write(fmt.mkLeaf(leaf, pa + (c.addr() - start), prot));
            } finally {
                l.unlock();
            }
            return Action.CONTINUE;
        }
        Level next = levels.get(levels.indexOf(c.level()) + 1);
        Installer.Installed r = installer.tryInstall(mm, c.table(), c.index(), c.level(), next, mask);
        if (r.won()) {
            installed.add(new Installed(c.table(), c.index(), c.level(), r.table()));
        }
        return Action.AGAIN;
    }

    @Override
    public Action pteRange(WalkCursor c, PageDesc table, int from, int to, long addr, long pageSize) {
        long[] w = table.words();
        long off = addr - start;
        for (int i = from; i < to; i++, off += pageSize) {
            if (!fmt.isNone(Words.getAcquire(w, i))) {
                throw new RangeConflictException("map: 0x" + Long.toHexString(start + off) + " was mapped concurrently");
            }
            // set_pte_at: release, the frame's contents are the caller's business before this.
            Words.setRelease(w, i, fmt.mkLeaf(Level.PTE, pa + off, prot));
        }
        return Action.CONTINUE;
    }
}
