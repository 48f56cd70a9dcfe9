package ptlab.arch;

/**
 * The five Linux page-table levels, top first. A configuration may fold some of them
 * (pgtable-nop4d/nopud/nopmd): a folded level has one entry that is the parent's entry, and
 * does not exist at run time.
 */
public enum Level {
    PGD,
    P4D,
    PUD,
    PMD,
    PTE;

    private static final Level[] VALUES = values();

    /** {@code pte_hole} depth: 0 for PGD up to 4 for PTE (real depth, folding aside). */
    public int depth() {
        return ordinal();
    }

    /** The next level down, or {@code null} below PTE. */
    public Level lower() {
        return this == PTE ? null : VALUES[ordinal() + 1];
    }

    /** The next level up, or {@code null} above PGD. */
    public Level upper() {
        return this == PGD ? null : VALUES[ordinal() - 1];
    }

    public static Level ofDepth(int depth) {
        return VALUES[depth];
    }

    /** Lower-case kernel spelling, e.g. {@code pmd}. */
    public String kernelName() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }
}
