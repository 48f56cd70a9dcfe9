package ptlab.arch;

/**
 * A decoded table word. {@code Absent} covers none and swap-like non-present words;
 * {@code Table} points to a lower table; {@code Leaf} maps {@code size} bytes at {@code pa}.
 */
public sealed interface Entry permits Entry.Absent, Entry.Table, Entry.Leaf {

    /** No translation (pte_none, or non-present and not PROT_NONE). */
    record Absent(long raw) implements Entry {}

    /** A pointer to the next-level table at physical address {@code pa}. */
    record Table(long pa, TableKind kind, long raw) implements Entry {}

    /** A page or block leaf. */
    record Leaf(long pa, long size, PageProt prot, boolean contiguous, long raw) implements Entry {}
}
