package ptlab.pgtable;

import ptlab.arch.Level;
import ptlab.arch.PteFormat;
import ptlab.cpu.SpinLock;
import ptlab.phys.PageDesc;
import ptlab.phys.Words;

/**
 * Detaching a PTE table from a live address space while lockless walkers may hold it: the
 * locked core of {@code retract_page_tables} / {@code collapse_pte_mapped_thp}
 * ({@code mm/khugepaged.c}) and of PT reclaim's {@code try_get_and_clear_pmd} / {@code free_pte}
 * ({@code mm/pt_reclaim.c}). Order: {@code pmd_lock}, PTE lock nested, recheck, clear the PMD
 * and flush ({@code pmdp_collapse_flush}), unlock, {@code mm_dec_nr_ptes},
 * {@code pte_free_defer}.
 */
/*
 * Implementation notes. Holding both pml and ptl while clearing is what makes
 * pte_offset_map_lock's pmd_same recheck sufficient: a mapper that got the ptl after us sees
 * the cleared PMD; one that got it before has finished its locked section. The emptiness check
 * (PT reclaim's rescan; for retract the folio lock guarantees it) runs under ptl, so no PTE
 * can be written between the check and the clear. The flush happens before the free, and the
 * free waits for the lockless readers: unhook → invalidate → RCU → free (STYLE 9).
 */
public final class Retraction {
    /** Outcome of one attempt. */
    public enum Result {
        /** The table was detached and handed to RCU. */
        RETRACTED,
        /** The PMD no longer pointed to a table (none, huge, or another table than expected). */
        CHANGED,
        /** The table still held entries. */
        NOT_EMPTY
    }

    private final PageTables pt;
    private final PteFormat fmt;
    private final Level pmdLevel;

    public Retraction(PageTables pt) {
        this.pt = pt;
        this.fmt = pt.format();
        this.pmdLevel = pt.geometry().holder(Level.PMD);
    }

    /**
     * Detaches the PTE table at {@code pmdTable[idx]} if the PMD still points to {@code expected}
     * (any table when {@code expected} is {@code null}) and, when {@code requireEmpty}, every PTE is none.
     *
     * @param flush the TLB flush of the range ({@code flush_tlb_range}), run after the clear,
     *              before the locks are dropped
     */
    public Result retract(Mm mm, PageDesc pmdTable, int idx, PageDesc expected, boolean requireEmpty, Runnable flush) {
        SpinLock pml = pt.pmdLockptr(mm, pmdTable);
        PageDesc table;
        pml.lock();
        try {
            long pmd = PageTables.read(pmdTable, idx); // check_pmd_state
            if (!fmt.isTable(pmdLevel, pmd)) {
                return Result.CHANGED;
            }
            table = pt.child(pmdLevel, pmd);
            if (expected != null && table != expected) {
                return Result.CHANGED;
            }
            SpinLock ptl = pt.pteLockptr(mm, table);
            if (ptl != pml) {
                ptl.lockNested(1);
            }
            try {
                if (requireEmpty && !empty(table)) {
                    return Result.NOT_EMPTY;
                }
                PageTables.write(pmdTable, idx, 0L); // pmdp_collapse_flush: clear ...
                flush.run(); // ... and flush the range
            } finally {
                if (ptl != pml) {
                    ptl.unlock();
                }
            }
        } finally {
            pml.unlock();
        }
        pt.accountTable(mm, Level.PTE, -1); // mm_dec_nr_ptes
        pt.pteFreeDefer(table);
        return Result.RETRACTED;
    }

    private boolean empty(PageDesc table) {
        long[] w = table.words();
        for (int i = 0; i < w.length; i++) {
            if (!fmt.isNone(Words.getAcquire(w, i))) {
                return false;
            }
        }
        return true;
    }
}
