package ptlab.range;

import java.util.List;
import ptlab.arch.Level;
import ptlab.arch.PteFormat;
import ptlab.pgtable.Installer;
import ptlab.pgtable.Mm;
import ptlab.pgtable.PgtblMask;
import ptlab.phys.PageDesc;
import ptlab.phys.Words;
import ptlab.walk.Action;
import ptlab.walk.WalkCursor;
import ptlab.walk.WalkOps;

/**
 * {@code apply_to_page_range} ({@code create}: missing tables are installed and the function
 * sees every PTE) and {@code apply_to_existing_page_range} (holes are skipped). A huge leaf in
 * the range is an error, as the kernel's {@code WARN_ON_ONCE(p?d_leaf())} + {@code -EINVAL}.
 * The PTE lock is held around the function for every mm except init_mm: that is why a special
 * (efi-like) mm needs ptlocks in its PTE tables (seed 002).
 */
final class ApplyVisitor implements WalkOps {
    private final PteFormat fmt;
    private final Installer installer;
    private final List<Level> levels;
    private final Mm mm;
    private final boolean create;
    private final PteFunction fn;
    long calls;
    /** Levels populated, for arch_sync_kernel_mappings. */
    final PgtblMask mask = new PgtblMask();

    ApplyVisitor(PageRanges r, Mm mm, boolean create, PteFunction fn) {
        this.fmt = r.pt.format();
        this.installer = r.walker.installer();
        this.levels = r.pt.geometry().levels();
        this.mm = mm;
        this.create = create;
        this.fn = fn;
    }

    @Override
    public Action hugeLeaf(WalkCursor c) {
        throw new RangeConflictException("apply_to_page_range: 0x" + Long.toHexString(c.addr()) + " is mapped by a leaf at "
                + c.level().kernelName() + " level");
    }

    @Override
    public Action hole(WalkCursor c) {
        if (!create || !fmt.isNone(c.entry())) {
            return Action.CONTINUE;
        }
        installer.install(mm, c.table(), c.index(), c.level(), levels.get(levels.indexOf(c.level()) + 1), mask);
        return Action.AGAIN;
    }

    @Override
    public Action pteRange(WalkCursor c, PageDesc table, int from, int to, long addr, long pageSize) {
        long[] w = table.words();
        for (int i = from; i < to; i++, addr += pageSize) {
            long e = Words.getAcquire(w, i);
            if (!create && fmt.isNone(e)) {
                continue; // apply_to_existing_page_range visits present-or-swap entries only
            }
            long n = fn.apply(addr, e);
            calls++;
            if (n != e) {
                Words.setRelease(w, i, n);
            }
        }
        return Action.CONTINUE;
    }
}
