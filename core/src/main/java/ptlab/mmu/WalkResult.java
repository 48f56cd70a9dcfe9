package ptlab.mmu;

import ptlab.arch.Level;

/**
 * Scratch result of one hardware walk, owned by one CPU (never shared), so the hot path
 * allocates nothing. After a successful walk {@link #fault} is 0.
 */
final class WalkResult {
    /** 0, or a fault word ({@link Translation#faultWord}). */
    long fault;
    /** PA of the accessed byte's granule-aligned page within the leaf. */
    long pagePa;
    /** Base PA of the leaf (start of the block or NAPOT run). */
    long leafPa;
    /** Bytes the leaf maps. */
    long leafSize;
    Level level;
    /** Index of {@link #level} among the run-time levels. */
    int levelIndex;
    /** Rights a TLB may cache (after controls and the dirty rule). */
    int rights;
    boolean global;
}
