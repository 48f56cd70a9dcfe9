package ptlab.walk;

import ptlab.phys.PageDesc;

/**
 * Visitor of a page-table walk ({@code struct mm_walk_ops}). Every callback has a default
 * that continues; an operation overrides only what it needs. Callbacks run with the locks
 * {@link WalkOptions} asked for held.
 */
public interface WalkOps {

    /** A present table entry, before its subtree ({@code p?d_entry} pre-order). */
    default Action table(WalkCursor c) {
        return Action.CONTINUE;
    }

    /**
     * After a table entry's subtree. The only place (with RCU deferral) where an operation may
     * unhook and free the child table.
     */
    default void tablePost(WalkCursor c, PageDesc child) {}

    /** A present leaf above the PTE level (huge / block), with {@link WalkCursor#entry()} its value. */
    default Action hugeLeaf(WalkCursor c) {
        return Action.CONTINUE;
    }

    /** A none (or non-present, non-table) entry above PTE level spanning {@code [addr, end)} ({@code pte_hole}). */
    default Action hole(WalkCursor c) {
        return Action.CONTINUE;
    }

    /**
     * Entries {@code [from, to)} of a PTE table; {@code addr} is the address of entry {@code from}.
     * The default calls {@link #pte} for each entry; bulk operations override this.
     */
    default Action pteRange(WalkCursor c, PageDesc table, int from, int to, long addr, long pageSize) {
        for (int i = from; i < to; i++, addr += pageSize) {
            c.at(ptlab.arch.Level.PTE, addr, addr + pageSize, table, i, ptlab.pgtable.PageTables.read(table, i));
            Action a = pte(c);
            if (a == Action.STOP) {
                return a;
            }
        }
        return Action.CONTINUE;
    }

    /** One PTE (present or not) ({@code pte_entry}). */
    default Action pte(WalkCursor c) {
        return Action.CONTINUE;
    }
}
