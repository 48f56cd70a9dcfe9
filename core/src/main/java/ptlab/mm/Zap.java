package ptlab.mm;

import ptlab.arch.Level;
import ptlab.pgtable.Retraction;
import ptlab.phys.PageDesc;
import ptlab.phys.Words;
import ptlab.walk.Action;
import ptlab.walk.WalkCursor;
import ptlab.walk.WalkOps;
import ptlab.walk.WalkOptions;

/**
 * {@code unmap_page_range} / {@code zap_page_range_single} as a walk visitor: huge PMDs wholly
 * inside the range are zapped ({@code zap_huge_pmd}), partial ones split first; present PTEs
 * are cleared and their pages released after the range's TLB flush. With {@code reclaimPt} (MADV_DONTNEED and
 * CONFIG_PT_RECLAIM) a PTE table whose whole PMD span was zapped and that is now empty is
 * unhooked under {@code pmd_lock} + ptl and freed after an RCU grace period
 * ({@code try_get_and_clear_pmd} + {@code free_pte}; see {@link Retraction}).
 */
final class Zap implements WalkOps {
    private final Process p;
    private final Kernel k;
    private final Vma v;
    private final boolean reclaimPt;
    /** The mmu_gather's page batch: the frames of one PTE range, released after its flush. */
    private final long[] pages;

    private Zap(Process p, Vma v, boolean reclaimPt) {
        this.p = p;
        this.k = p.k;
        this.v = v;
        this.reclaimPt = reclaimPt;
        this.pages = new long[k.geo.entries(Level.PTE)];
    }

    static void range(Process p, Vma v, long start, long end, boolean reclaimPt) {
        p.k.walker.walk(p.mm, start, end, new Zap(p, v, reclaimPt), WalkOptions.LOCKED);
    }

    @Override
    public Action hugeLeaf(WalkCursor c) {
        return Thp.wholeOrSplit(p, v, c, Thp::zapHuge);
    }

    @Override
    public Action pteRange(WalkCursor c, PageDesc table, int from, int to, long addr, long pageSize) {
        long[] w = table.words();
        long[] pages = this.pages;
        int n = 0;
        boolean flushed = false;
        for (int i = from; i < to; i++) {
            long e = Words.getAcquire(w, i);
            if (k.fmt.isNone(e)) {
                continue;
            }
            Words.getAndSet(w, i, 0L); // ptep_get_and_clear
            if (k.fmt.isPresent(e)) {
                pages[n++] = k.fmt.outputAddress(Level.PTE, e) >>> k.geo.pageShift(); // tlb_remove_page
            }
            flushed = true;
        }
        if (flushed) {
            k.flushTlbRange(p.mm, addr, addr + (long) (to - from) * pageSize);
        }
        // tlb_flush_mmu: the pages are released only after the flush, or a CPU could still
        // write through its stale entry to a frame already allocated again (FreedFrameCheck).
        Pages.putAll(k, pages, n, "zap_pte_range");
        return Action.CONTINUE;
    }

    @Override
    public void tablePost(WalkCursor c, PageDesc child) {
        if (!reclaimPt || c.level() != k.pmdLevel || c.end() - c.addr() != k.pmdSize) {
            return;
        }
        // try_to_free_pte: pmd_lock, PTE lock nested, rescan for pte_none, clear, flush, then
        // mm_dec_nr_ptes and an RCU-deferred free (lockless walkers may still map it).
        new Retraction(k.pt).retract(p.mm, c.table(), c.index(), child, true,
                () -> k.flushTlbRange(p.mm, c.addr(), c.end()));
    }
}
