package ptlab.arch;

import java.util.List;

/**
 * Shape of a paging configuration: which levels exist at run time, how many entries each
 * table has, how many bytes one entry maps, where leaves may stand. Pure arithmetic, no bits
 * (those are {@link PteFormat}'s) and no memory.
 *
 * <p>Linux folding is kept: a folded level ({@code pgtable-nop4d.h} and friends) has
 * {@link #entries} 1 and the same {@link #shift} as the next present level above it, and
 * is not in {@link #levels()}. {@link #holder(Level)} names the run-time level whose entries
 * are that level's entries: with 4-level x86, {@code p4d_populate} writes the PGD.
 */
public interface Geometry {

    /** log2 of the base page (granule) size: 12, 14 or 16. */
    int pageShift();

    default long pageSize() {
        return 1L << pageShift();
    }

    /** Virtual-address bits translated by one root (39, 48, 52, 57, ...). */
    int vaBits();

    /** Levels present at run time, top (root) first; always ends with PTE. */
    List<Level> levels();

    /** Whether {@code level} is folded away in this configuration. */
    boolean isFolded(Level level);

    /** Low bit of the VA field this level indexes (Linux {@code *_SHIFT}). */
    int shift(Level level);

    /** Entries in a table of this level (Linux {@code PTRS_PER_*}); 1 when folded. */
    int entries(Level level);

    /** Bytes of physical memory a table of this level occupies (at least one entry of 8). */
    default int tableBytes(Level level) {
        return entries(level) * 8;
    }

    /** Bytes mapped by one entry of this level ({@code 1 << shift}). */
    default long entrySize(Level level) {
        return 1L << shift(level);
    }

    /** Index of {@code va} in a table of {@code level}. */
    default int index(Level level, long va) {
        return (int) ((va >>> shift(level)) & (entries(level) - 1));
    }

    /** Start of the next entry's span after {@code addr}, clamped to {@code end} (Linux {@code p?d_addr_end}). */
    default long addrEnd(Level level, long addr, long end) {
        long boundary = (addr + entrySize(level)) & -entrySize(level);
        return Long.compareUnsigned(boundary - 1, end - 1) < 0 ? boundary : end;
    }

    /** The run-time level that holds {@code level}'s entries: itself, or the next present level above. */
    Level holder(Level level);

    /** Whether Linux maps a block (huge) leaf at this run-time level in this configuration. */
    boolean leafAllowed(Level level);

    /** Entries in one contiguous run at this level (arm64 CONT, RISC-V Svnapot), 0 if none. */
    int contiguousEntries(Level level);

    /** The run-time level whose entries map exactly {@code size} bytes, or {@code null}. */
    default Level levelOfSize(long size) {
        for (Level l : levels()) {
            if (entrySize(l) == size) {
                return l;
            }
        }
        return null;
    }

    /** Top run-time level (the root table). */
    default Level root() {
        return levels().get(0);
    }
}
