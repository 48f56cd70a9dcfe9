package ptlab.mmu;

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
    /** Index of the leaf's level among the run-time levels (an int, not the Level: see HardwareWalker's notes). */
    int levelIndex;
    /** Rights a TLB may cache (after controls and the dirty rule). */
    int rights;
    boolean global;
    /** Per level: the last table PA walked through and its descriptor's words (see HardwareWalker's notes). */
    final long[] memoPa = new long[5];
    final long[][] memoWords = new long[5][];

    WalkResult() {
        java.util.Arrays.fill(memoPa, -1L);
    }
}
