package ptlab.mm;

import java.util.List;
import ptlab.arch.Level;
import ptlab.cpu.SpinLock;
import ptlab.pgtable.EntryUpdates;
import ptlab.pgtable.PageTables;
import ptlab.phys.PageDesc;
import ptlab.phys.Words;
import ptlab.walk.Action;
import ptlab.walk.WalkCursor;
import ptlab.walk.WalkOps;
import ptlab.walk.WalkOptions;

/**
 * {@code copy_page_range} for one VMA as a walk over the parent with a parallel cursor in the
 * child: the child allocates a table wherever the parent has one ({@code p4d_alloc},
 * {@code pud_alloc}, {@code pmd_alloc}, and {@code pte_alloc_map_lock} even for an empty PTE
 * table), huge PMDs go through {@code copy_huge_pmd} (a new deposit for the child), and private
 * anonymous PTEs are write-protected in both (COW) with a reference taken for the child.
 * Locks: the child's ptl outer, the parent's nested (subclass 1).
 */
final class ForkCopy implements WalkOps {
    private final Process parent;
    private final Process child;
    private final Kernel k;
    private final List<Level> levels;
    /** The child's table at each run-time level on the current path. */
    private final PageDesc[] dst;

    private ForkCopy(Process parent, Process child) {
        this.parent = parent;
        this.child = child;
        this.k = parent.k;
        this.levels = k.geo.levels();
        this.dst = new PageDesc[levels.size()];
        dst[0] = child.mm.pgd();
    }

    static void copy(Process parent, Process child, Vma v) {
        parent.k.walker.walk(parent.mm, v.start, v.end, new ForkCopy(parent, child), WalkOptions.UNLOCKED);
    }

    private int li(Level l) {
        return levels.indexOf(l);
    }

    @Override
    public Action table(WalkCursor c) {
        int li = li(c.level());
        PageDesc d = dst[li];
        long e = PageTables.read(d, c.index());
        PageDesc next;
        if (k.fmt.isTable(c.level(), e)) {
            next = k.pt.child(c.level(), e);
        } else {
            next = k.installer.install(child.mm, d, c.index(), c.level(), levels.get(li + 1), null);
        }
        dst[li + 1] = next;
        return Action.CONTINUE;
    }

    @Override
    public Action hugeLeaf(WalkCursor c) {
        if (c.level() != k.pmdLevel) {
            return Action.CONTINUE;
        }
        PageDesc dTable = dst[li(c.level())];
        PageDesc deposit = k.pt.allocTable(child.mm, child.mm, Level.PTE, "pte_alloc_one");
        SpinLock dpml = k.pt.pmdLockptr(child.mm, dTable);
        SpinLock spml = k.pt.pmdLockptr(parent.mm, c.table());
        dpml.lock();
        spml.lockNested(1);
        try {
            long pmd = PageTables.read(c.table(), c.index());
            long head = k.fmt.outputAddress(k.pmdLevel, pmd) >>> k.geo.pageShift();
            if (!k.isZeroPfn(head)) {
                if (k.fmt.isWrite(pmd)) {
                    pmd = EntryUpdates.setWrprotect(k.fmt, c.table().words(), c.index(), pmd); // pmdp_set_wrprotect
                }
                Pages.get(k, head, "copy_huge_pmd");
            }
            k.pt.accountTable(child.mm, Level.PTE, +1);
            k.pt.deposit(child.mm, dTable, deposit);
            PageTables.write(dTable, c.index(), pmd);
        } finally {
            spml.unlock();
            dpml.unlock();
        }
        k.flushTlbRange(parent.mm, c.addr() & -k.pmdSize, (c.addr() & -k.pmdSize) + k.pmdSize);
        return Action.CONTINUE;
    }

    @Override
    public Action pteRange(WalkCursor c, PageDesc table, int from, int to, long addr, long pageSize) {
        PageDesc d = dst[li(Level.PTE)];
        SpinLock dptl = k.pt.pteLockptr(child.mm, d);
        SpinLock sptl = k.pt.pteLockptr(parent.mm, table);
        dptl.lock();
        if (sptl != dptl) {
            sptl.lockNested(1);
        }
        try {
            long[] sw = table.words();
            long[] dw = d.words();
            boolean wrprotected = false;
            for (int i = from; i < to; i++) {
                long e = Words.getAcquire(sw, i);
                if (!k.fmt.isPresent(e)) {
                    continue;
                }
                long pfn = k.fmt.outputAddress(Level.PTE, e) >>> k.geo.pageShift();
                if (!k.isZeroPfn(pfn)) {
                    if (k.fmt.isWrite(e)) {
                        e = EntryUpdates.setWrprotect(k.fmt, sw, i, e); // ptep_set_wrprotect
                        wrprotected = true;
                    }
                    Pages.get(k, pfn, "copy_pte_range");
                }
                Words.setRelease(dw, i, e);
            }
            if (wrprotected) {
                k.flushTlbRange(parent.mm, addr, addr + (long) (to - from) * pageSize);
            }
        } finally {
            if (sptl != dptl) {
                sptl.unlock();
            }
            dptl.unlock();
        }
        return Action.CONTINUE;
    }
}
