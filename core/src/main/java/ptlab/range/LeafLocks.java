package ptlab.range;

import ptlab.arch.Level;
import ptlab.cpu.SpinLock;
import ptlab.pgtable.Mm;
import ptlab.pgtable.PageTables;
import ptlab.phys.PageDesc;

/**
 * The lock that guards a leaf above the PTE level: {@code pmd_lock} for a PMD leaf (the split
 * PMD lock, or {@code page_table_lock}), {@code page_table_lock} ({@code pud_lock}) higher up.
 * PTE leaves are guarded by the PTE lock the walker holds around {@code pteRange}.
 */
final class LeafLocks {
    private LeafLocks() {}

    static SpinLock of(PageTables pt, Mm mm, Level level, PageDesc table) {
        return level == Level.PMD ? pt.pmdLockptr(mm, table) : mm.pageTableLock();
    }
}
