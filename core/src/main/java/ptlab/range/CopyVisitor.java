package ptlab.range;

import java.util.List;
import ptlab.arch.Level;
import ptlab.arch.PteFormat;
import ptlab.cpu.SpinLock;
import ptlab.pgtable.EntryUpdates;
import ptlab.pgtable.Installer;
import ptlab.pgtable.Mm;
import ptlab.pgtable.PageTables;
import ptlab.phys.PageDesc;
import ptlab.phys.Words;
import ptlab.walk.Action;
import ptlab.walk.WalkCursor;
import ptlab.walk.WalkOps;

/**
 * {@code copy_page_range} for a raw range: a walk over the source with a parallel path in the
 * destination, which allocates (and accounts) its own table wherever the source has one, even
 * an empty PTE table, as fork does. Leaves are copied; with {@code cow}, writable ones are
 * write-protected in both ({@code ptep_set_wrprotect}). Locks: the destination's ptl outer, the
 * source's nested (subclass 1), as {@code copy_pte_range}; the walk itself takes no lock.
 */
final class CopyVisitor implements WalkOps {
    private final PageTables pt;
    private final PteFormat fmt;
    private final Installer installer;
    private final List<Level> levels;
    private final Mm src;
    private final Mm dst;
    private final boolean cow;
    /** The destination's table at each run-time level on the current path. */
    private final PageDesc[] path;
    long copied;
    boolean wrprotected;

    CopyVisitor(PageRanges r, Mm src, Mm dst, boolean cow) {
        this.pt = r.pt;
        this.fmt = pt.format();
        this.installer = r.walker.installer();
        this.levels = pt.geometry().levels();
        this.src = src;
        this.dst = dst;
        this.cow = cow;
        this.path = new PageDesc[levels.size()];
        path[0] = dst.pgd();
    }

    @Override
    public Action table(WalkCursor c) {
        int li = levels.indexOf(c.level());
        PageDesc d = path[li];
        long e = PageTables.read(d, c.index());
        PageDesc next = fmt.isTable(c.level(), e) ? pt.child(c.level(), e)
                : installer.install(dst, d, c.index(), c.level(), levels.get(li + 1), null);
        if (next == null) {
            throw new RangeConflictException("copy: the destination holds a leaf at 0x" + Long.toHexString(c.addr()));
        }
        path[li + 1] = next;
        return Action.CONTINUE;
    }

    @Override
    public Action hugeLeaf(WalkCursor c) {
        PageDesc d = path[levels.indexOf(c.level())];
        SpinLock dl = LeafLocks.of(pt, dst, c.level(), d);
        SpinLock sl = LeafLocks.of(pt, src, c.level(), c.table());
        dl.lock();
        sl.lockNested(1);
        try {
            long e = c.reread();
            if (cow && fmt.isWrite(e)) {
                e = EntryUpdates.setWrprotect(fmt, c.table().words(), c.index(), e); // pmdp_set_wrprotect
                wrprotected = true;
            }
            PageTables.write(d, c.index(), e);
            copied++;
        } finally {
            sl.unlock();
            dl.unlock();
        }
        return Action.CONTINUE;
    }

    @Override
    public Action pteRange(WalkCursor c, PageDesc table, int from, int to, long addr, long pageSize) {
        PageDesc d = path[levels.size() - 1];
        SpinLock dptl = dst.isInitMm() ? null : pt.pteLockptr(dst, d);
        SpinLock sptl = src.isInitMm() ? null : pt.pteLockptr(src, table);
        if (dptl != null) {
            dptl.lock();
        }
        if (sptl != null && sptl != dptl) {
            sptl.lockNested(1);
        }
        try {
            long[] sw = table.words();
            long[] dw = d.words();
            for (int i = from; i < to; i++) {
                long e = Words.getAcquire(sw, i);
                if (fmt.isNone(e)) {
                    continue;
                }
                if (cow && fmt.isWrite(e)) {
                    e = EntryUpdates.setWrprotect(fmt, sw, i, e); // ptep_set_wrprotect
                    wrprotected = true;
                }
                Words.setRelease(dw, i, e);
                copied++;
            }
        } finally {
            if (sptl != null && sptl != dptl) {
                sptl.unlock();
            }
            if (dptl != null) {
                dptl.unlock();
            }
        }
        return Action.CONTINUE;
    }
}
