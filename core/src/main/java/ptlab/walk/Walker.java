package ptlab.walk;

import java.util.List;
import ptlab.InvalidAddressException;
import ptlab.arch.Geometry;
import ptlab.arch.Level;
import ptlab.arch.PteFormat;
import ptlab.pgtable.Installer;
import ptlab.pgtable.Mm;
import ptlab.pgtable.PageTables;
import ptlab.pgtable.PgtblMask;
import ptlab.pgtable.PteMapping;
import ptlab.phys.PageDesc;

/**
 * The one level-generic page-table walker ({@code walk_page_range} of {@code mm/pagewalk.c},
 * {@code kvm_pgtable_walk} of arm64 KVM). It visits {@code [start, end)} of an mm level by
 * level over the run-time levels of the geometry, calling {@link WalkOps} and obeying their
 * {@link Action}s. There are no per-level copies of the loop.
 */
/*
 * Implementation notes.
 *
 * Re-read rule: after a pre-order table callback the entry is read again before descending;
 * if it is no longer a table (the callback split, cleared or replaced it) the entry is
 * handled afresh. That is the KVM lesson: never descend into a subtree the callback freed.
 * Tables are freed only in tablePost (post-order) or through RCU deferral.
 *
 * Locking: with lockPtes a PTE table is entered through pte_offset_map_lock (RCU section,
 * ptlock, pmd_same recheck), as walk_pte_range does; if the PMD no longer holds a table the
 * entry is handled again (ACTION_AGAIN). Not for init_mm, whose tables have no ptlock; kernel
 * walks are lockless like walk_kernel_page_table_range. Upper-level callbacks run without a lock; an
 * op that changes an upper entry takes the guarding lock itself (pmd_lock, page_table_lock).
 */
public final class Walker {
    private final PageTables pt;
    private final Geometry geo;
    private final PteFormat fmt;
    private final Level[] levels;
    private final Installer installer;

    public Walker(PageTables pt) {
        this.pt = pt;
        this.geo = pt.geometry();
        this.fmt = pt.format();
        List<Level> ls = geo.levels();
        this.levels = ls.toArray(new Level[0]);
        this.installer = new Installer(pt);
    }

    public PageTables pageTables() {
        return pt;
    }

    public Installer installer() {
        return installer;
    }

    /**
     * Walks {@code [start, end)} of {@code mm}.
     *
     * @return {@link Action#STOP} if a callback stopped the walk, else {@link Action#CONTINUE}
     * @throws InvalidAddressException if the range is misaligned, empty, or not inside one half of the
     *     address space (non-canonical somewhere, or crossing from the user to the kernel half);
     *     {@code end} 0 stands for 2^64, the top of the kernel half
     */
    public Action walk(Mm mm, long start, long end, WalkOps ops, WalkOptions opt) {
        return walk(mm, start, end, ops, opt, null);
    }

    /** As {@link #walk(Mm, long, long, WalkOps, WalkOptions)}, accumulating installed levels in {@code mask}. */
    public Action walk(Mm mm, long start, long end, WalkOps ops, WalkOptions opt, PgtblMask mask) {
        long page = geo.pageSize();
        if ((start & (page - 1)) != 0 || (end & (page - 1)) != 0) {
            throw new InvalidAddressException("walk range [0x" + Long.toHexString(start) + ", 0x" + Long.toHexString(end)
                    + ") is not page aligned");
        }
        if (Long.compareUnsigned(start, end) >= 0 && end != 0) {
            throw new InvalidAddressException("walk range [0x" + Long.toHexString(start) + ", 0x" + Long.toHexString(end)
                    + ") is empty or inverted");
        }
        requireOneHalf(start, end);
        WalkCursor c = new WalkCursor();
        c.mm = mm;
        return level(c, mm.pgd(), 0, start, end, ops, opt, mask);
    }

    /**
     * The range must lie in one half of the address space (canonical at both ends, the same
     * half): the loop indexes the root with the VA's bits, so a range crossing the
     * non-canonical hole would run past the root's last entry, and one inside the hole would
     * alias the other half's entries. {@code end} 0 is 2^64, the top of the kernel half.
     */
    private void requireOneHalf(long start, long end) {
        ptlab.arch.Architecture arch = pt.arch();
        long last = end - 1;
        if (!arch.isCanonical(start) || !arch.isCanonical(last)) {
            throw new InvalidAddressException("walk range [0x" + Long.toHexString(start) + ", 0x" + Long.toHexString(end)
                    + ") is non-canonical on " + arch + " at 0x" + Long.toHexString(arch.isCanonical(start) ? last : start));
        }
        if ((start ^ last) < 0) {
            throw new InvalidAddressException("walk range [0x" + Long.toHexString(start) + ", 0x" + Long.toHexString(end)
                    + ") is not inside one half of the address space on " + arch + ": the user half ends at 0x"
                    + Long.toHexString(arch.userTop()) + ", the kernel half starts at 0x" + Long.toHexString(arch.kernelBase()));
        }
    }

    private Action level(WalkCursor c, PageDesc table, int li, long addr, long end, WalkOps ops, WalkOptions opt,
            PgtblMask mask) {
        Level l = levels[li];
        if (l == Level.PTE) {
            return pteLevel(c, table, addr, end, ops, opt);
        }
        int idx = geo.index(l, addr);
        while (true) {
            long next = geo.addrEnd(l, addr, end);
            long e = PageTables.read(table, idx);
            c.at(l, addr, next, table, idx, e);
            Action a;
            if (fmt.isTable(l, e)) {
                a = ops.table(c);
                if (a == Action.STOP) {
                    return a;
                }
                if (a == Action.AGAIN) {
                    continue;
                }
                if (a == Action.CONTINUE) {
                    long e2 = PageTables.read(table, idx);
                    if (!fmt.isTable(l, e2)) {
                        continue; // re-read rule: the callback changed the entry
                    }
                    PageDesc child;
                    if (levels[li + 1] == Level.PTE && opt.lockPtes() && !c.mm.isInitMm()) {
                        // walk_pte_range: pte_offset_map_lock; no table any more -> ACTION_AGAIN
                        PteMapping m = pt.pteMaps().mapLock(c.mm, table, idx);
                        if (!(m instanceof PteMapping.Mapped)) {
                            continue;
                        }
                        PteMapping.Mapped mp = (PteMapping.Mapped) m;
                        child = mp.table();
                        try {
                            a = pteRange(c, child, addr, next, ops);
                        } finally {
                            mp.close();
                        }
                    } else {
                        child = pt.child(l, e2);
                        a = level(c, child, li + 1, addr, next, ops, opt, mask);
                    }
                    if (a == Action.STOP) {
                        return a;
                    }
                    c.at(l, addr, next, table, idx, PageTables.read(table, idx));
                    ops.tablePost(c, child);
                }
            } else if (fmt.isLeaf(l, e)) {
                a = ops.hugeLeaf(c);
                if (a == Action.STOP) {
                    return a;
                }
                if (a == Action.AGAIN) {
                    continue;
                }
            } else {
                if (opt.install() && fmt.isNone(e)) {
                    installer.install(c.mm, table, idx, l, levels[li + 1], mask);
                    continue;
                }
                a = ops.hole(c);
                if (a == Action.STOP) {
                    return a;
                }
                if (a == Action.AGAIN) {
                    continue;
                }
            }
            addr = next;
            if (addr == end) {
                return Action.CONTINUE;
            }
            idx++;
        }
    }

    /** A PTE table reached without locks: init_mm, or a caller that excludes every other user of the mm. */
    private Action pteLevel(WalkCursor c, PageDesc table, long addr, long end, WalkOps ops, WalkOptions opt) {
        return pteRange(c, table, addr, end, ops);
    }

    private Action pteRange(WalkCursor c, PageDesc table, long addr, long end, WalkOps ops) {
        int from = geo.index(Level.PTE, addr);
        int to = from + (int) ((end - addr) >>> geo.pageShift());
        return ops.pteRange(c, table, from, to, addr, geo.pageSize());
    }
}
