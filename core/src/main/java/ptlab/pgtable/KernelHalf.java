package ptlab.pgtable;

import java.util.List;
import ptlab.arch.Architecture;
import ptlab.arch.Level;
import ptlab.phys.PageDesc;

/**
 * The kernel half of user page tables: {@code pgd_alloc}/{@code pgd_free}, x86's
 * {@code pgd_list}, and {@code arch_sync_kernel_mappings}.
 *
 * <p>x86 ({@code arch/x86/mm/pgtable.c}): a new PGD clones entries
 * {@code [KERNEL_PGD_BOUNDARY, PTRS_PER_PGD)} of init_mm's root and joins pgd_list, both under
 * {@code pgd_lock}, so a sync never sees a half-built PGD. A kernel top-level entry populated
 * later reaches the user PGDs only through {@link #syncKernelMappings} ({@code sync_global_pgds}).
 * RISC-V clones the upper half but keeps no list (its kernel top-level entries are preallocated).
 * arm64 keeps the kernel in its own root (TTBR1): nothing is cloned or synced.
 */
public final class KernelHalf {
    private final PageTables pt;

    KernelHalf(PageTables pt) {
        this.pt = pt;
    }

    void pgdAlloc(Mm mm) {
        Architecture arch = pt.arch();
        Level root = pt.geometry().root();
        Mm ctorMm = mm.kind() == MmKind.SPECIAL ? null : mm;
        PageDesc pgd = pt.allocTable(mm, ctorMm, root, "pgd_alloc");
        mm.setPgd(pgd);
        if (!arch.sharesKernelHalf()) {
            return;
        }
        PageDesc kpgd = pt.initMm().pgd();
        int n = pt.geometry().entries(root);
        pt.pgdLock().lock();
        try {
            for (int i = arch.kernelHalfStart(); i < n; i++) {
                PageTables.write(pgd, i, PageTables.read(kpgd, i));
            }
            if (!arch.syncMask().isEmpty()) {
                pt.pgdListUnlocked().add(mm);
                mm.setOnPgdList(true);
            }
        } finally {
            pt.pgdLock().unlock();
        }
    }

    void pgdFree(Mm mm) {
        if (mm.onPgdList()) {
            pt.pgdLock().lock();
            try {
                pt.pgdListUnlocked().remove(mm);
                mm.setOnPgdList(false);
            } finally {
                pt.pgdLock().unlock();
            }
        }
        PageDesc pgd = mm.pgd();
        // The kernel half is shared by design: only the root page itself goes.
        pt.freeTable(pgd);
        mm.setPgd(null);
    }

    /**
     * Undoes a sync of root entry {@code index}: clears it in every PGD on pgd_list that holds
     * {@code value}. Only for rolling back a failed kernel population whose top-level table is
     * being freed (Linux instead keeps such tables for good).
     *
     * @return the number of entries cleared
     */
    public long unsyncKernelEntry(int index, long value) {
        long cleared = 0;
        pt.pgdLock().lock();
        try {
            for (Mm mm : pt.pgdListUnlocked()) {
                mm.pageTableLock().lock();
                try {
                    if (PageTables.read(mm.pgd(), index) == value) {
                        PageTables.write(mm.pgd(), index, 0L);
                        cleared++;
                    }
                } finally {
                    mm.pageTableLock().unlock();
                }
            }
        } finally {
            pt.pgdLock().unlock();
        }
        return cleared;
    }

    /**
     * {@code arch_sync_kernel_mappings(start, end)} → x86 {@code sync_global_pgds}: for each root
     * index in {@code [start, end)} whose init_mm entry is not none, copy it into every PGD on
     * pgd_list where that entry is none; two present entries that differ are a BUG (recorded).
     *
     * @return the number of entries copied
     */
    public long syncKernelMappings(long start, long end) {
        if (pt.arch().syncMask().isEmpty()) {
            return 0;
        }
        Level root = pt.geometry().root();
        PageDesc kpgd = pt.initMm().pgd();
        long copies = 0;
        int first = pt.geometry().index(root, start);
        int last = pt.geometry().index(root, end - 1);
        pt.pgdLock().lock();
        try {
            List<Mm> list = pt.pgdListUnlocked();
            for (int idx = first; idx <= last; idx++) {
                long k = PageTables.read(kpgd, idx);
                if (pt.format().isNone(k)) {
                    continue;
                }
                for (Mm mm : list) {
                    mm.pageTableLock().lock();
                    try {
                        long u = PageTables.read(mm.pgd(), idx);
                        if (pt.format().isNone(u)) {
                            PageTables.write(mm.pgd(), idx, k);
                            copies++;
                        } else if (u != k) {
                            pt.log().record("kernel-half", "sync_global_pgds: " + mm + " PGD[" + idx + "] = 0x"
                                    + Long.toHexString(u) + " differs from init_mm's 0x" + Long.toHexString(k));
                        }
                    } finally {
                        mm.pageTableLock().unlock();
                    }
                }
            }
        } finally {
            pt.pgdLock().unlock();
        }
        pt.stats().sync(copies);
        ptlab.events.Tracepoints.sync(start, end, copies);
        return copies;
    }
}
