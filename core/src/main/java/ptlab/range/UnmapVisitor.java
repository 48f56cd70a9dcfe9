package ptlab.range;

import java.util.ArrayList;
import java.util.List;
import ptlab.arch.PteFormat;
import ptlab.cpu.SpinLock;
import ptlab.pgtable.Installer;
import ptlab.pgtable.Mm;
import ptlab.pgtable.PageTables;
import ptlab.phys.PageDesc;
import ptlab.phys.Words;
import ptlab.walk.Action;
import ptlab.walk.WalkCursor;
import ptlab.walk.WalkOps;

/**
 * {@code vunmap_range} / {@code zap_page_range} + {@code free_pgd_range} for raw ranges: clears
 * every leaf of the range and, in post-order, unhooks each table on the range's path that
 * is left with no entry at all: {@code free_pgd_range} with floor and ceiling at the nearest
 * mappings outside the range, so tables shared with a neighbour survive. Unhooked tables are freed by
 * {@link PageRanges} only after the TLB flush request: unhook → invalidate → free.
 */
/*
 * Implementation notes. A table is unhooked in tablePost, the only place where the walk
 * engine allows it, under the lock that guarded its install. On architectures whose user PGDs
 * share init_mm's kernel-half tables (x86, RISC-V), a table hanging from init_mm's root is
 * never unhooked: user PGDs point to it too (x86 never frees kernel P4D/PUD tables either).
 */
final class UnmapVisitor implements WalkOps {
    private final PageTables pt;
    private final PteFormat fmt;
    private final Mm mm;
    private final boolean freeTables;
    private final Installer installer;
    final List<PageDesc> unhooked = new ArrayList<>();
    long cleared;

    UnmapVisitor(PageRanges r, Mm mm, long start, long end, boolean freeTables) {
        this.pt = r.pt;
        this.fmt = pt.format();
        this.mm = mm;
        this.freeTables = freeTables;
        this.installer = r.walker.installer();
    }

    @Override
    public Action hugeLeaf(WalkCursor c) {
        SpinLock l = LeafLocks.of(pt, mm, c.level(), c.table());
        l.lock();
        try {
            c.write(0L); // p?d_clear: the leaf covers no more than the range (the probe checked)
        } finally {
            l.unlock();
        }
        cleared++;
        return Action.CONTINUE;
    }

    @Override
    public Action hole(WalkCursor c) {
        if (!fmt.isNone(c.entry())) {
            c.write(0L); // p?d_clear_bad
        }
        return Action.CONTINUE;
    }

    @Override
    public Action pteRange(WalkCursor c, PageDesc table, int from, int to, long addr, long pageSize) {
        long[] w = table.words();
        for (int i = from; i < to; i++) {
            if (Words.getAcquire(w, i) != 0L) {
                Words.getAndSet(w, i, 0L); // ptep_get_and_clear: the old value is what a gather would account
                cleared++;
            }
        }
        return Action.CONTINUE;
    }

    @Override
    public void tablePost(WalkCursor c, PageDesc child) {
        if (!freeTables) {
            return;
        }
        if (mm.isInitMm() && pt.arch().sharesKernelHalf() && c.table() == mm.pgd()) {
            return;
        }
        long[] w = child.words();
        for (int i = 0; i < w.length; i++) {
            if (Words.getAcquire(w, i) != 0L) {
                return; // it still maps something outside the range: it stays
            }
        }
        installer.uninstall(mm, c.table(), c.index(), child.level);
        unhooked.add(child);
    }
}
