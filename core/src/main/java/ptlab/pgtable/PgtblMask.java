package ptlab.pgtable;

import ptlab.arch.Level;

/**
 * {@code pgtbl_mod_mask}: which levels' entries an operation populated (bit 0 PGD … bit 4 PTE,
 * as {@code PGTBL_*_MODIFIED}), accumulated by the {@code p?d_alloc_track} helpers and
 * compared with {@code ARCH_PAGE_TABLE_SYNC_MASK} at the end. Not thread-safe: one per operation.
 */
public final class PgtblMask {
    /** An empty mask. */
    public PgtblMask() {}

    private int bits;

    public void add(Level entryLevel) {
        bits |= 1 << entryLevel.ordinal();
    }

    public boolean has(Level entryLevel) {
        return (bits & (1 << entryLevel.ordinal())) != 0;
    }

    public int bits() {
        return bits;
    }

    /** Whether any modified level is in {@code syncMask}. */
    public boolean intersects(java.util.Set<Level> syncMask) {
        for (Level l : syncMask) {
            if (has(l)) {
                return true;
            }
        }
        return false;
    }
}
