package ptlab.sim;

/**
 * The page-table memory after one step: live tables per level (indexed by
 * {@code Level.ordinal()}), NR_PAGETABLE pages, and the VmPTE bytes of all live processes.
 */
public record Sample(int line, String label, long[] tables, long nrPagetable, long vmPteBytes) {}
