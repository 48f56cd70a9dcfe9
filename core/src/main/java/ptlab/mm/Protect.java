package ptlab.mm;

import ptlab.arch.Level;
import ptlab.arch.PageProt;
import ptlab.phys.PageDesc;
import ptlab.phys.Words;
import ptlab.walk.Action;
import ptlab.walk.WalkCursor;
import ptlab.walk.WalkOps;
import ptlab.walk.WalkOptions;

/**
 * {@code change_protection} as a walk visitor: every present PTE (and whole huge PMD) of the
 * range gets the VMA's new protection; a huge PMD only partly inside is split first. A page
 * keeps its write permission only if the VMA is writable and the PTE was writable
 * (ptlab does not re-grant write to pages that need a write fault, like COW pages).
 */
final class Protect implements WalkOps {
    private final Process p;
    private final Kernel k;
    private final Vma v;

    private Protect(Process p, Vma v) {
        this.p = p;
        this.k = p.k;
        this.v = v;
    }

    static void range(Process p, Vma v, long start, long end) {
        p.k.walker.walk(p.mm, start, end, new Protect(p, v), WalkOptions.LOCKED);
    }

    @Override
    public Action hugeLeaf(WalkCursor c) {
        return Thp.wholeOrSplit(p, v, c, Thp::protectHuge);
    }

    @Override
    public Action pteRange(WalkCursor c, PageDesc table, int from, int to, long addr, long pageSize) {
        long[] w = table.words();
        boolean changed = false;
        for (int i = from; i < to; i++) {
            long e = Words.getAcquire(w, i);
            if (!k.fmt.isPresent(e)) {
                continue;
            }
            long pa = k.fmt.outputAddress(Level.PTE, e);
            PageProt old = k.fmt.prot(Level.PTE, e);
            PageProt np;
            if (!v.accessible()) {
                np = PageProt.USER_NONE;
            } else {
                boolean write = v.has(Vma.WRITE) && old.write();
                np = PageProt.user(true, write, v.has(Vma.EXEC)).withYoung(old.young()).withDirty(old.dirty());
            }
            // Clear-then-set like ptep_modify_prot_start/commit: the MMU never sees a mix.
            Words.getAndSet(w, i, 0L);
            Words.setRelease(w, i, k.fmt.mkLeaf(Level.PTE, pa, np));
            changed = true;
        }
        if (changed) {
            k.flushTlbRange(p.mm, addr, addr + (long) (to - from) * pageSize);
        }
        return Action.CONTINUE;
    }
}
