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
    /*
     * X86Walker's memo, the same lookup cache as memoPa/memoWords, one object per x86 level
     * (PML5, PML4, PDPT, PD, PT): no array index or range check per level (see X86Walker's
     * notes). Kept apart from the generic memo: each is only a cache of the fixed pfn -> words
     * mapping.
     */
    final TableMemo pml5 = new TableMemo();
    final TableMemo pml4 = new TableMemo();
    final TableMemo pdpt = new TableMemo();
    final TableMemo pd = new TableMemo();
    final TableMemo pt = new TableMemo();
    /** The PTE level's second way: the PTE table used before {@link #pt} (see X86Walker's notes). */
    final TableMemo ptBefore = new TableMemo();

    /** One level's memo: the last table PA walked through there and its words. */
    static final class TableMemo {
        long pa = -1;
        long[] words;
    }

    WalkResult() {
        java.util.Arrays.fill(memoPa, -1L);
    }

    /**
     * Records a translation: the leaf of {@code size} bytes at {@code base} on level
     * {@code levelIndex}, granule {@code entrySize} (the level's entry size), and the page of
     * {@code va} within it. The one place every walker fills a mapped result.
     */
    void mapped(long va, long base, long size, long entrySize, int levelIndex, int rights, boolean global) {
        fault = 0;
        leafPa = base;
        leafSize = size;
        pagePa = base + (va & (size - 1) & -entrySize);
        this.levelIndex = levelIndex;
        this.rights = rights;
        this.global = global;
    }
}
