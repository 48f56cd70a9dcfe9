package ptlab.cpu;

/**
 * Lock classes in their mandatory acquisition order (lower rank first), as in Linux
 * {@code Documentation/mm/process_addrs.rst} and {@code split_page_table_lock.rst}:
 * mmap_lock → folio lock → i_mmap_rwsem → split mutex → pgd_lock → page_table_lock → PMD ptl → PTE ptl → allocator.
 * Two locks of one class may nest only with a higher subclass ({@code spin_lock_nested}),
 * e.g. fork's source PTE lock inside the destination's.
 */
public enum LockClass {
    /** {@code mm->mmap_lock} (a sleeping rwsem). */
    MMAP_LOCK(10, true),
    /** {@code folio_lock} of a page-cache folio (a sleeping bit lock); khugepaged holds it across retraction. */
    FOLIO_LOCK(12, true),
    /** {@code mapping->i_mmap_rwsem}: the file's list of mapping VMAs (taken exclusively here). */
    I_MMAP(14, true),
    /** arm64 {@code pgtable_split_lock} (a mutex). */
    SPLIT_MUTEX(20, true),
    /** x86 {@code pgd_lock}: guards pgd_list. */
    PGD_LIST(30, false),
    /** {@code mm->page_table_lock}: PUD/P4D/PGD population, and PMD/PTE without split locks. */
    PAGE_TABLE_LOCK(40, false),
    /** Split PMD ptlock ({@code pmd_lock}). */
    PMD_PTL(50, false),
    /** Split PTE ptlock ({@code pte_lockptr}). */
    PTE_PTL(60, false),
    /** Buddy allocator zone lock (leaf: nothing is taken inside it). */
    ZONE(90, false);

    private final int rank;
    private final boolean sleeping;

    LockClass(int rank, boolean sleeping) {
        this.rank = rank;
        this.sleeping = sleeping;
    }

    public int rank() {
        return rank;
    }

    /** Whether taking it may sleep (mutex, rwsem) rather than spin. */
    public boolean sleeping() {
        return sleeping;
    }
}
