package ptlab.range;

import ptlab.arch.Level;
import ptlab.arch.PageProt;
import ptlab.arch.PteFormat;
import ptlab.cpu.SpinLock;
import ptlab.pgtable.Mm;
import ptlab.pgtable.PageTables;
import ptlab.phys.PageDesc;
import ptlab.phys.Words;
import ptlab.walk.Action;
import ptlab.walk.WalkCursor;
import ptlab.walk.WalkOps;

/**
 * {@code change_protection} for raw ranges: every present leaf (PTE or whole huge leaf) gets
 * {@code prot}, keeping its accessed and dirty state ({@code pte_modify} keeps
 * {@code _PAGE_CHG_MASK}). The four accessed/dirty variants of {@code prot} are built once.
 */
final class ProtectVisitor implements WalkOps {
    private final PageTables pt;
    private final PteFormat fmt;
    private final Mm mm;
    /** {@code prot} with (young, dirty) = index bits 1 and 0. */
    private final PageProt[] variants = new PageProt[4];
    long changed;

    ProtectVisitor(PageRanges r, Mm mm, PageProt prot) {
        this.pt = r.pt;
        this.fmt = pt.format();
        this.mm = mm;
        for (int i = 0; i < 4; i++) {
            variants[i] = prot.withYoung((i & 2) != 0).withDirty((i & 1) != 0);
        }
    }

    private long remake(Level level, long e) {
        int v = (fmt.isYoung(e) ? 2 : 0) | (fmt.isDirty(e) ? 1 : 0);
        return fmt.mkLeaf(level, fmt.outputAddress(level, e), variants[v]);
    }

    @Override
    public Action hugeLeaf(WalkCursor c) {
        SpinLock l = LeafLocks.of(pt, mm, c.level(), c.table());
        l.lock();
        try {
            long e = c.reread();
            if (fmt.isLeaf(c.level(), e)) {
                c.write(0L); // pmdp_invalidate, then the new value: the MMU never sees a mix
                c.write(remake(c.level(), e));
                changed++;
            }
        } finally {
            l.unlock();
        }
        return Action.CONTINUE;
    }

    @Override
    public Action pteRange(WalkCursor c, PageDesc table, int from, int to, long addr, long pageSize) {
        long[] w = table.words();
        for (int i = from; i < to; i++) {
            long e = Words.getAcquire(w, i);
            if (!fmt.isPresent(e)) {
                continue;
            }
            // ptep_modify_prot_start/commit: clear, then store the new value.
            e = Words.getAndSet(w, i, 0L);
            Words.setRelease(w, i, remake(Level.PTE, e));
            changed++;
        }
        return Action.CONTINUE;
    }
}
