package ptlab.mm;

/** The {@code madvise} advices ptlab models. */
public enum Advice {
    /** {@code MADV_DONTNEED}: zap, and with PT_RECLAIM free emptied PTE tables. */
    DONTNEED,
    /** {@code MADV_HUGEPAGE}: set VM_HUGEPAGE. */
    HUGEPAGE,
    /** {@code MADV_NOHUGEPAGE}: set VM_NOHUGEPAGE. */
    NOHUGEPAGE,
    /** {@code MADV_COLLAPSE}: synchronous collapse to PMD-mapped THPs. */
    COLLAPSE
}
