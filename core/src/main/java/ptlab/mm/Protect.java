package ptlab.mm;

import ptlab.arch.Level;
import ptlab.arch.PageProt;
import ptlab.pgtable.EntryUpdates;
import ptlab.phys.PageDesc;
import ptlab.phys.Words;
import ptlab.walk.Action;
import ptlab.walk.WalkCursor;
import ptlab.walk.WalkOps;
import ptlab.walk.WalkOptions;

/**
 * {@code change_protection} as a walk visitor: every present PTE (and whole huge PMD) of the
 * range gets the VMA's new protection; a huge PMD only partly inside is split first. In a
 * private mapping a page keeps its write permission only if the VMA is writable and the PTE
 * was writable (ptlab does not re-grant write to pages that need a write fault, like COW
 * pages); a shared writable mapping's pages all become writable, as its {@code vm_page_prot}
 * grants write ({@link Vma#pageProtWritable}).
 */
final class Protect implements WalkOps {
    private final Process p;
    private final Kernel k;
    private final Vma v;
    /** The new protection per old (write, young, dirty) state: computed once per VMA, not per PTE. */
    private final PageProt[] protByState = new PageProt[8];
    private final java.util.function.LongUnaryOperator remakePte = this::remake;

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
            // ptep_modify_prot_start/commit: the new entry is built from the value it replaces,
            // so an A/D update that raced the read above is kept (one release store when the
            // MMU can no longer change the word).
            EntryUpdates.update(k.fmt, w, i, e, remakePte);
            changed = true;
        }
        if (changed) {
            k.flushTlbRange(p.mm, addr, addr + (long) (to - from) * pageSize);
        }
        return Action.CONTINUE;
    }

    /** The entry {@code e} with the VMA's protection: same page, same young/dirty state. */
    private long remake(long e) {
        boolean write = k.fmt.isWrite(e);
        boolean young = k.fmt.isYoung(e);
        boolean dirty = k.fmt.isDirty(e);
        int key = (write ? 4 : 0) | (young ? 2 : 0) | (dirty ? 1 : 0);
        PageProt np = protByState[key];
        if (np == null) {
            np = v.modifyProt(write, young, dirty);
            protByState[key] = np;
        }
        return k.fmt.mkLeaf(Level.PTE, k.fmt.outputAddress(Level.PTE, e), np);
    }
}
