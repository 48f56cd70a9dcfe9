package ptlab.mm;

import java.util.List;
import ptlab.arch.Level;
import ptlab.mmu.TlbGather;
import ptlab.pgtable.PageTables;
import ptlab.phys.PageDesc;
import ptlab.walk.Action;
import ptlab.walk.WalkCursor;
import ptlab.walk.WalkOps;
import ptlab.walk.WalkOptions;

/**
 * {@code free_pgtables} / {@code free_pgd_range} ({@code mm/memory.c}): after the VMAs of a
 * range are detached and zapped, free the page tables that lie wholly inside
 * {@code [floor, ceiling)}, where floor is the end of the previous VMA and ceiling the start of
 * the next (0 meaning bottom and top). A PTE table of the range always goes; an upper table goes
 * only if the whole span its parent entry covers is inside the limits, so tables shared with a
 * neighbouring VMA survive.
 */
final class FreePgtables implements WalkOps {
    private final Process p;
    private final Kernel k;
    private final long floor;
    private final long ceiling;
    private final TlbGather tlb;

    private FreePgtables(Process p, long floor, long ceiling, TlbGather tlb) {
        this.tlb = tlb;
        this.p = p;
        this.k = p.k;
        this.floor = floor;
        this.ceiling = ceiling;
    }

    /** {@code free_pgtables} over detached VMAs (address order), grouping neighbours less than a PMD apart. */
    static void freeVmas(Process p, List<Vma> gone, long floor, long ceiling) {
        int i = 0;
        while (i < gone.size()) {
            long addr = gone.get(i).start;
            long end = gone.get(i).end;
            int j = i + 1;
            while (j < gone.size() && Long.compareUnsigned(gone.get(j).start, end + p.k.pmdSize) <= 0) {
                end = gone.get(j).end;
                j++;
            }
            long ceil = j < gone.size() ? gone.get(j).start : ceiling;
            freePgdRange(p, addr, end, floor, ceil);
            i = j;
        }
    }

    /** {@code free_pgd_range(tlb, addr, end, floor, ceiling)}. */
    static void freePgdRange(Process p, long addr, long end, long floor, long ceiling) {
        long pmdSize = p.k.pmdSize;
        addr &= -pmdSize;
        if (Long.compareUnsigned(addr, floor) < 0) {
            addr += pmdSize;
            if (addr == 0) {
                return;
            }
        }
        if (ceiling != 0) {
            ceiling &= -pmdSize;
            if (ceiling == 0) {
                return;
            }
        }
        if (Long.compareUnsigned(end - 1, ceiling - 1) > 0) {
            end -= pmdSize;
        }
        if (Long.compareUnsigned(addr, end - 1) > 0) {
            return;
        }
        try (TlbGather tlb = p.k.mmu.gather(p.mm)) {
            p.k.walker.walk(p.mm, addr, end, new FreePgtables(p, floor, ceiling, tlb), WalkOptions.UNLOCKED);
        }
    }

    @Override
    public Action pteRange(WalkCursor c, PageDesc table, int from, int to, long addr, long pageSize) {
        return Action.CONTINUE; // only tables matter here
    }

    @Override
    public Action hugeLeaf(WalkCursor c) {
        // p?d_none_or_clear_bad: a leaf here is unexpected after the zap; clear it as bad.
        k.pt.log().record("free-pgtables", "leaf left at " + c.level() + " 0x" + Long.toHexString(c.addr()) + " in " + p.mm);
        PageTables.write(c.table(), c.index(), 0L);
        return Action.CONTINUE;
    }

    @Override
    public void tablePost(WalkCursor c, PageDesc child) {
        Level childLevel = child.level;
        if (childLevel != Level.PTE) {
            long span = k.geo.entrySize(c.level());
            long start = c.addr() & -span;
            if (Long.compareUnsigned(start, floor) < 0) {
                return;
            }
            long ceil = ceiling;
            if (ceil != 0) {
                ceil &= -span;
                if (ceil == 0) {
                    return;
                }
            }
            if (Long.compareUnsigned(c.end() - 1, ceil - 1) > 0) {
                return;
            }
        }
        // p?d_clear, then p?d_free_tlb and mm_dec_nr_*. The table goes through tlb_remove_table:
        // dtor and free after the flush and an RCU grace period (MMU_GATHER_RCU_TABLE_FREE).
        PageTables.write(c.table(), c.index(), 0L);
        k.countFlush();
        k.pt.accountTable(p.mm, childLevel, -1);
        tlb.removeTable(child, c.addr(), c.end()); // flushed by the gather, then tlb_remove_table (RCU)
    }
}
