package ptlab.pgtable;

/** What an address space is, which decides ctor arguments and locking. */
public enum MmKind {
    /** {@code init_mm}: kernel tables, never split-locked. */
    INIT,
    /** A process's mm. */
    USER,
    /** A special mm such as {@code efi_mm}, built by an allocator that passes {@code mm = NULL}. */
    SPECIAL
}
