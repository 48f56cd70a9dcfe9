package ptlab.phys;

import ptlab.arch.Level;
import ptlab.cpu.SpinLock;

/**
 * The {@code struct page}/{@code struct ptdesc} analogue of one frame that is, or was, a
 * page table: the backing words, the page type, and the fields the page-table layer keeps in
 * the ptdesc (level, owning mm, ptlock, list links). Frames that never held a table have no
 * {@code PageDesc}; their metadata is the section's primitive arrays.
 *
 * <p>Fields other than {@link #words} and {@link #poisoned} are written under the lock that
 * owns the table's life cycle (allocation, install lock, or the free path) before the table
 * is published, and read after the acquire-load that found the table; they need no
 * ordering of their own.
 */
public final class PageDesc {
    /** The word a freed table's backing is filled with. */
    public static final long POISON = 0x6b6b_6b6b_6b6b_6b6bL;

    private final long pfn;
    private long[] words;
    /**
     * Set when the frame is freed; cleared when the frame becomes a table again
     * ({@link PhysicalMemory#tableDesc}), not merely when it is allocated again: a stale reader
     * of a table frame that now holds data is still reading freed table memory.
     */
    private volatile boolean poisoned;
    /**
     * How many times the frame was freed while holding a table: a lockless reader records it
     * when it maps the table and compares it on every read, so a free <em>and reuse</em> inside
     * its section is caught even though the frame is no longer poisoned.
     */
    @SuppressWarnings("unused") // through GENERATION
    private int generation;
    /**
     * Release-store by the freeing CPU (under the zone lock, after the poison fill), acquire-load
     * by readers: a reader that sees the new generation also sees the poison. A volatile store
     * would add a full fence to every free for nothing.
     */
    private static final java.lang.invoke.VarHandle GENERATION;

    static {
        try {
            GENERATION = java.lang.invoke.MethodHandles.lookup().findVarHandle(PageDesc.class, "generation", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /** PageTable page type: set by the ctor, cleared by the dtor. */
    public boolean pageTable;
    /** Level the ctor ran for. */
    public Level level;
    /** Owning mm ({@code pt_mm}); {@code null} for "no mm" special tables. */
    public Object mm;
    /** Whether the ctor was given a real mm (false: {@code mm == NULL} special allocator). */
    public boolean hasMm;
    /** Split ptlock ({@code ptdesc->ptl}); {@code null} when not initialised. */
    public SpinLock ptl;
    /** Whether the ptlock came from the dynamic ptlock cache (ALLOC_SPLIT_PTLOCKS). */
    public boolean ptlDynamic;
    /** Generic link: pgd_list membership, deposit list, RCU head. */
    public Object link;
    /** Generic per-table data of the layer above (deposit stack head of a PMD table, etc.). */
    public Object extra;
    /** Order of the allocation this table came from (PGD with PTI: 1). */
    public int order;
    /**
     * An early kernel table from the boot allocator ({@code memblock}): never constructed, no
     * ptlock, not in NR_PAGETABLE, as Linux's early page tables.
     */
    public boolean memblock;
    /**
     * Who freed the table last: the freeing site, the table's level and mm, and the CPU, set
     * by the page-table code just before the free and kept across it (poison does not clear
     * it), so a use-after-free report can name the free as well as the reader. Null if never
     * freed as a table.
     */
    public volatile String freedBy;

    PageDesc(long pfn) {
        this.pfn = pfn;
    }

    public long pfn() {
        return pfn;
    }

    /** The backing words; created on first use. */
    public long[] words() {
        return words;
    }

    void ensureWords(int count, boolean zero) {
        if (words == null || words.length != count) {
            words = new long[count];
        } else if (zero) {
            java.util.Arrays.fill(words, 0L);
        }
    }

    public boolean poisoned() {
        return poisoned;
    }

    /** Frees of this frame so far (see the field). */
    public int generation() {
        return (int) GENERATION.getAcquire(this);
    }

    void poison() {
        if (words != null) {
            java.util.Arrays.fill(words, POISON);
        }
        pageTable = false;
        level = null;
        mm = null;
        hasMm = false;
        ptl = null;
        ptlDynamic = false;
        link = null;
        extra = null;
        memblock = false;
        GENERATION.setRelease(this, (int) GENERATION.get(this) + 1); // only the freeing CPU writes it (under the zone lock)
        poisoned = true;
    }

    void unpoison() {
        poisoned = false;
    }
}
