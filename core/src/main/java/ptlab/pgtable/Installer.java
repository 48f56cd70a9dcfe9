package ptlab.pgtable;

import java.util.List;
import ptlab.arch.Geometry;
import ptlab.arch.Level;
import ptlab.arch.PteFormat;
import ptlab.arch.TableKind;
import ptlab.cpu.SpinLock;
import ptlab.phys.OutOfMemoryException;
import ptlab.phys.PageDesc;

/**
 * Installing tables on demand: {@code __pte_alloc} + {@code pmd_install}, {@code __pmd_alloc},
 * {@code __pud_alloc}, {@code __p4d_alloc}, {@code __pte_alloc_kernel}, and the
 * {@code p?d_populate[_kernel]} helpers ({@code mm/memory.c}, {@code include/linux/pgalloc.h}).
 *
 * <p>Protocol: allocate and construct the table first (it may sleep), then take the lock
 * that guards the parent entry, and install only if the entry is still none; the loser of a
 * race frees its table through its level's free, so counters stay exact. The table is zeroed
 * and constructed before the release-store that publishes it ({@code smp_wmb} in
 * {@code pmd_install}); a walker's acquire-load of the entry then sees it initialised.
 */
public final class Installer {
    private final PageTables pt;
    private final Geometry geo;
    private final PteFormat fmt;
    private final List<Level> levels;

    public Installer(PageTables pt) {
        this.pt = pt;
        this.geo = pt.geometry();
        this.fmt = pt.format();
        this.levels = geo.levels();
    }

    /** The lock guarding population of an entry in {@code parent} by a table of {@code child}'s level. */
    public SpinLock installLock(Mm mm, PageDesc parent, Level child) {
        if (child == Level.PTE && !mm.isInitMm()) {
            return pt.pmdLockptr(mm, parent); // pmd_install: pmd_lock
        }
        // __pte_alloc_kernel: init_mm.page_table_lock; __pmd_alloc: pud_lock; __pud_alloc/__p4d_alloc: page_table_lock.
        return mm.pageTableLock();
    }

    /**
     * Installs a new table of level {@code child} at {@code parent[index]} unless the entry is no
     * longer none. Returns the table now at that entry, or {@code null} if the entry holds a leaf
     * (a racing huge mapping).
     *
     * @throws OutOfMemoryException if the new table cannot be allocated; nothing changes then
     */
    public PageDesc install(Mm mm, PageDesc parent, int index, Level parentLevel, Level child, PgtblMask mask) {
        Installed r = tryInstall(mm, parent, index, parentLevel, child, mask);
        return r.table();
    }

    /**
     * The outcome of an install: the table now at the entry ({@code null} if a leaf is there)
     * and whether this call put it there (false: a racing installer won and ours was freed).
     */
    public record Installed(PageDesc table, boolean won) {}

    /** As {@link #install}, also telling whether this call installed the table (callers that may roll back need it). */
    public Installed tryInstall(Mm mm, PageDesc parent, int index, Level parentLevel, Level child, PgtblMask mask) {
        Mm ctorMm = mm.kind() == MmKind.SPECIAL ? null : mm;
        PageDesc table = pt.allocTable(mm, ctorMm, child, "alloc_" + child.kernelName());
        TableKind kind = mm.isInitMm() ? TableKind.KERNEL : TableKind.USER;
        SpinLock lock = installLock(mm, parent, child);
        boolean won = false;
        long cur;
        lock.lock();
        try {
            cur = PageTables.read(parent, index);
            if (fmt.isNone(cur)) {
                // __pte_alloc_kernel does not account; every other install does (mm_inc_nr_*).
                if (!(child == Level.PTE && mm.isInitMm())) {
                    pt.accountTable(mm, child, +1);
                }
                PageTables.write(parent, index, fmt.mkTable(parentLevel, pt.pa(table), kind));
                won = true;
            }
        } finally {
            lock.unlock();
        }
        if (!won) {
            pt.freeTable(table);
            pt.stats().raceLost();
            return new Installed(fmt.isTable(parentLevel, cur) ? pt.child(parentLevel, cur) : null, false);
        }
        if (mask != null) {
            mask.add(child.upper());
        }
        return new Installed(table, true);
    }

    /**
     * Undoes an install ({@code p?d_clear} + {@code mm_dec_nr_*}) of an empty table, under the
     * lock that guarded it. The caller flushes the TLB and then frees the table.
     */
    public void uninstall(Mm mm, PageDesc parent, int index, Level child) {
        SpinLock lock = installLock(mm, parent, child);
        lock.lock();
        try {
            PageTables.write(parent, index, 0L);
            if (!(child == Level.PTE && mm.isInitMm())) {
                pt.accountTable(mm, child, -1);
            }
        } finally {
            lock.unlock();
        }
    }

    /**
     * Walks from the root to the table at run-time level {@code target} that covers {@code va},
     * installing missing tables on the way ({@code p4d_alloc}/{@code pud_alloc}/{@code pmd_alloc}/
     * {@code pte_alloc}). Returns {@code null} if a leaf or bad entry sits in the way.
     *
     * @param mask accumulates the populated levels (may be {@code null})
     * @throws OutOfMemoryException if a table cannot be allocated (tables installed before stay)
     */
    public PageDesc walkAlloc(Mm mm, long va, Level target, PgtblMask mask) {
        PageDesc table = mm.pgd();
        for (int i = 0; i < levels.size(); i++) {
            Level l = levels.get(i);
            if (l == target) {
                return table;
            }
            int idx = geo.index(l, va);
            long e = PageTables.read(table, idx);
            if (fmt.isTable(l, e)) {
                table = pt.child(l, e);
            } else if (fmt.isNone(e)) {
                table = install(mm, table, idx, l, levels.get(i + 1), mask);
                if (table == null) {
                    return null;
                }
            } else {
                return null;
            }
        }
        throw new IllegalArgumentException("level " + target + " is not a run-time level of " + pt.arch());
    }

    /** Like {@link #walkAlloc} without allocating: {@code null} if any table on the way is missing. */
    public PageDesc lookup(Mm mm, long va, Level target) {
        PageDesc table = mm.pgd();
        for (Level l : levels) {
            if (l == target) {
                return table;
            }
            long e = PageTables.read(table, geo.index(l, va));
            if (!fmt.isTable(l, e)) {
                return null;
            }
            table = pt.child(l, e);
        }
        return null;
    }

    /**
     * Kernel population with the {@code _kernel} helpers ({@code pgd_populate_kernel},
     * {@code p4d_populate_kernel}): install tables for {@code va} in init_mm down to {@code target}
     * and, if a level in {@code ARCH_PAGE_TABLE_SYNC_MASK} was populated, sync every user PGD.
     */
    public PageDesc walkAllocKernel(long va, Level target) {
        PgtblMask mask = new PgtblMask();
        PageDesc t = walkAlloc(pt.initMm(), va, target, mask);
        if (mask.intersects(pt.arch().syncMask())) {
            pt.kernelHalf().syncKernelMappings(va, va + 1);
        }
        return t;
    }
}
