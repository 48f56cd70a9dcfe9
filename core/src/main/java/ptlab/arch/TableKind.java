package ptlab.arch;

/**
 * Whom a table entry points to a table for. Some formats encode it: x86 sets US only for
 * user tables ({@code _PAGE_TABLE} vs {@code _KERNPG_TABLE}); arm64 {@code pmd_populate} sets
 * PXNTable for user and {@code pmd_populate_kernel} UXNTable for kernel tables.
 */
public enum TableKind {
    USER,
    KERNEL
}
