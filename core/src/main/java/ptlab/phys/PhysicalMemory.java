package ptlab.phys;

import ptlab.cpu.ViolationLog;

/**
 * Simulated physical memory of up to many TiB. Only what is used costs host memory: per-frame
 * metadata lives in {@link Section}s created on first allocation, and only frames used as page
 * tables have backing words (one {@code long} per entry, {@code pageSize / 8} of them).
 *
 * <p>A freed table frame keeps its backing, filled with {@link PageDesc#POISON} and flagged,
 * so a reader that still holds the old table sees poison and the check in {@link #readWord}
 * reports a use-after-free.
 */
public final class PhysicalMemory {
    /** log2 of frames per section. */
    static final int SECTION_SHIFT = 15;
    static final int SECTION_FRAMES = 1 << SECTION_SHIFT;

    /** Reference counts change from any CPU: atomic read-modify-write on the section's array. */
    private static final java.lang.invoke.VarHandle REFCOUNT = java.lang.invoke.MethodHandles.arrayElementVarHandle(int[].class);

    private final int pageShift;
    private final long frames;
    private final Section[] sections;
    /**
     * Per section, the backing words of each frame that is or was a table (null otherwise):
     * {@link #tableWordsOrNull}, the hardware walker's lookup, two array loads from the pfn
     * instead of section, descriptor array, descriptor and words. Written with the descriptor
     * in {@link #tableDesc}; a frame's words array never changes once it was a table
     * (wordsPerFrame is fixed), so an entry is written once.
     */
    private final long[][][] tableWords;
    private final ViolationLog log;

    /**
     * @param pageShift 12, 14 or 16
     * @param ramBytes  simulated RAM size; a multiple of the largest buddy block
     * @param log       where use-after-free reads are reported
     * @throws MemoryConfigException if the page shift or the RAM size is not one of those
     */
    public PhysicalMemory(int pageShift, long ramBytes, ViolationLog log) {
        if (pageShift != 12 && pageShift != 14 && pageShift != 16) {
            throw new MemoryConfigException("page shift must be 12, 14 or 16: " + pageShift);
        }
        long block = 1L << (pageShift + BuddyAllocator.MAX_ORDER);
        if (ramBytes <= 0 || ramBytes % block != 0) {
            throw new MemoryConfigException("RAM size " + ramBytes + " must be a positive multiple of " + block
                    + " bytes (the largest buddy block)");
        }
        long nsec = ((ramBytes >>> pageShift) + SECTION_FRAMES - 1) >>> SECTION_SHIFT;
        if (nsec > Integer.MAX_VALUE - 8) {
            throw new MemoryConfigException("RAM size " + ramBytes + " is too large");
        }
        this.pageShift = pageShift;
        this.frames = ramBytes >>> pageShift;
        this.sections = new Section[(int) nsec];
        this.tableWords = new long[(int) nsec][][];
        this.log = log;
    }

    public int pageShift() {
        return pageShift;
    }

    public long pageSize() {
        return 1L << pageShift;
    }

    public long frames() {
        return frames;
    }

    public long ramBytes() {
        return frames << pageShift;
    }

    public ViolationLog log() {
        return log;
    }

    /** Words in one table frame. */
    public int wordsPerFrame() {
        return 1 << (pageShift - 3);
    }

    /** Number of sections whose metadata exists (host memory grows with this). */
    public int sectionsInUse() {
        int n = 0;
        for (Section s : sections) {
            if (s != null) {
                n++;
            }
        }
        return n;
    }

    /* ---- address checks ---- */

    /** Checks {@code pa} is page-aligned and inside RAM; returns its pfn. */
    public long pfnOf(long pa) {
        if ((pa & (pageSize() - 1)) != 0) {
            throw new InvalidFrameException("physical address 0x" + Long.toHexString(pa) + " is not aligned to the "
                    + pageSize() + "-byte page");
        }
        long pfn = pa >>> pageShift;
        checkPfn(pfn);
        return pfn;
    }

    public long paOf(long pfn) {
        return pfn << pageShift;
    }

    void checkPfn(long pfn) {
        if (pfn < 0 || pfn >= frames) {
            throw new InvalidFrameException("pfn 0x" + Long.toHexString(pfn) + " is outside RAM (0x"
                    + Long.toHexString(frames) + " frames)");
        }
    }

    /* ---- sections ---- */

    Section section(long pfn) {
        return sections[(int) (pfn >>> SECTION_SHIFT)];
    }

    /** The section of {@code pfn}, created if absent; only under the allocator's zone lock. */
    Section sectionForWrite(long pfn) {
        int i = (int) (pfn >>> SECTION_SHIFT);
        Section s = sections[i];
        return s != null ? s : createSection(i);
    }

    private Section createSection(int i) {
        Section s = new Section(SECTION_FRAMES);
        sections[i] = s;
        return s;
    }

    static int offset(long pfn) {
        return (int) (pfn & (SECTION_FRAMES - 1));
    }

    /* ---- per-frame metadata ---- */

    /** Whether {@code pfn} is the head of an allocated block. */
    public boolean isAllocated(long pfn) {
        checkPfn(pfn);
        Section s = section(pfn);
        return s != null && s.state[offset(pfn)] == Section.ALLOCATED_HEAD;
    }

    /** The table metadata of {@code pfn}, or {@code null} if it never held a table. */
    public PageDesc descOrNull(long pfn) {
        checkPfn(pfn);
        Section s = section(pfn);
        return s == null ? null : s.desc[offset(pfn)];
    }

    /**
     * The backing words of the table frame {@code pfn} ({@code descOrNull(pfn).words()}), or
     * {@code null} if {@code pfn} is outside RAM or never held a table: the lookup of the
     * hardware walk, without the descriptor. No check, no message: a caller that gets
     * {@code null} asks {@link #descOrNull} for the reason. Plain loads: the caller found the
     * pfn through an acquire load of the entry that the table's installer release-stored after
     * {@link #tableDesc} wrote these arrays.
     */
    public long[] tableWordsOrNull(long pfn) {
        if (Long.compareUnsigned(pfn, frames) >= 0) {
            return null;
        }
        long[][] w = tableWords[(int) (pfn >>> SECTION_SHIFT)];
        return w == null ? null : w[offset(pfn)];
    }

    /**
     * Prepares an allocated frame for use as a table and returns its descriptor with backing
     * words, zeroed when {@code zero} (else whatever the frame last held: poison or old entries).
     */
    public PageDesc tableDesc(long pfn, boolean zero) {
        checkPfn(pfn);
        Section s = section(pfn);
        if (s == null || s.state[offset(pfn)] != Section.ALLOCATED_HEAD) {
            throw new InvalidFrameException("pfn 0x" + Long.toHexString(pfn) + " is not allocated");
        }
        PageDesc d;
        long[][] w;
        synchronized (s) {
            d = s.desc[offset(pfn)];
            if (d == null) {
                d = new PageDesc(pfn);
                s.desc[offset(pfn)] = d;
            }
            int si = (int) (pfn >>> SECTION_SHIFT);
            w = tableWords[si];
            if (w == null) {
                w = new long[SECTION_FRAMES][];
                tableWords[si] = w;
            }
        }
        d.ensureWords(wordsPerFrame(), zero);
        w[offset(pfn)] = d.words(); // the frame is the caller's: no other writer of this slot
        d.unpoison();
        return d;
    }

    /** The descriptor of the table at {@code pa}; the frame must be a live or freed table frame. */
    public PageDesc descAt(long pa) {
        PageDesc d = descOrNull(pfnOf(pa));
        if (d == null) {
            throw new InvalidFrameException("physical address 0x" + Long.toHexString(pa) + " holds no table");
        }
        return d;
    }

    /** Reads a table word with acquire ordering, reporting a read of a freed (poisoned) frame. */
    public long readWord(PageDesc d, int index, String reader) {
        long v = Words.getAcquire(d.words(), index);
        // The poison fill is plain and the flag store comes after it: a reader may see the
        // poison word before the flag, so either one is a freed frame.
        if (d.poisoned() || v == PageDesc.POISON) {
            log.record("use-after-free", reader + " read word " + index + " of freed table pfn 0x" + Long.toHexString(d.pfn()) + freedBy(d));
        }
        return v;
    }

    /**
     * As {@link #readWord(PageDesc, int, String)} for a reader that mapped the table when its
     * {@link PageDesc#generation()} was {@code generation}: a frame freed and reused as a table
     * since then is a use-after-free too, though it is no longer poisoned.
     */
    public long readWord(PageDesc d, int index, String reader, int generation) {
        long v = Words.getAcquire(d.words(), index);
        if (d.poisoned() || v == PageDesc.POISON || d.generation() != generation) {
            log.record("use-after-free", reader + " read word " + index + " of freed table pfn 0x" + Long.toHexString(d.pfn())
                    + (d.poisoned() ? "" : " (freed and reused since it was mapped)") + freedBy(d));
        }
        return v;
    }

    /** ", freed by SITE" for a report, from {@link PageDesc#freedBy}, or nothing. */
    private static String freedBy(PageDesc d) {
        String by = d.freedBy;
        return by == null ? "" : ", freed by " + by;
    }

    public int refcount(long pfn) {
        checkPfn(pfn);
        Section s = section(pfn);
        return s == null ? 0 : (int) REFCOUNT.getVolatile(s.refcount, offset(pfn));
    }

    /** {@code get_page}: atomically raises the frame's reference count. */
    public int getPage(long pfn) {
        return (int) REFCOUNT.getAndAdd(sectionOfUsed(pfn, "get_page").refcount, offset(pfn), 1) + 1;
    }

    /**
     * {@code put_page} without the free: returns the new count. A put that would take the
     * count below zero throws and leaves it at zero (a CAS loop, so the failed put has no
     * effect another CPU could observe).
     */
    public int putPage(long pfn) {
        int v = decrementIfPositive(sectionOfUsed(pfn, "put_page").refcount, offset(pfn));
        if (v <= 0) {
            throw new InvalidFrameException("put_page of pfn 0x" + Long.toHexString(pfn) + " whose refcount is " + v);
        }
        return v - 1;
    }

    /**
     * Drops one reference if the count is positive (a CAS loop, so a put that must fail has no
     * effect another CPU could observe); returns the count it found: at most 0 means nothing
     * changed.
     */
    private static int decrementIfPositive(int[] counts, int off) {
        int v;
        do {
            v = (int) REFCOUNT.getVolatile(counts, off);
            if (v <= 0) {
                return v;
            }
        } while (!REFCOUNT.compareAndSet(counts, off, v, v - 1));
        return v;
    }

    /* ---- references of small data folios: the per-page work of fork and zap ---- */

    /**
     * {@code folio_get} of a small folio: if {@code pfn} is an allocated order-0 block that
     * holds no live table and has a reference, raises its count and returns true; otherwise
     * changes nothing and returns false, and the caller takes the general path
     * ({@link #compoundHead}, {@link #descOrNull}, {@link #refcount}, {@link #getPage}), which
     * finds the head of a larger folio or says what is wrong.
     */
    /*
     * The same checks and the same atomic add as the general path, read from one section
     * lookup instead of eight range checks and lookups: copy_pte_range does this for every
     * present PTE, and the child's exit puts them all again (see tryPutSmall). Measured in
     * a warm JVM, the fork step of tools/traces/big-4g.trace (copy and the child's exit,
     * 1 Mi pages each) took 41 ms of thread CPU with the general path and 37.5 ms with these,
     * its 4 GiB MADV_DONTNEED 60 ms and 56 ms (medians of 6 replays).
     */
    public boolean tryGetSmall(long pfn) {
        Section s = smallDataBlock(pfn);
        int off = offset(pfn);
        if (s == null || (int) REFCOUNT.getVolatile(s.refcount, off) <= 0) {
            return false;
        }
        REFCOUNT.getAndAdd(s.refcount, off, 1);
        return true;
    }

    /**
     * {@code folio_put} of a small folio without the free: as {@link #tryGetSmall}, drops a
     * reference of an allocated order-0 data block and returns the count left (0: the caller
     * frees the frame), or returns -1, changing nothing, for any other frame or a count that
     * is already 0 (the general path reports it).
     */
    public int tryPutSmall(long pfn) {
        Section s = smallDataBlock(pfn);
        if (s == null) {
            return -1;
        }
        int v = decrementIfPositive(s.refcount, offset(pfn));
        return v <= 0 ? -1 : v - 1;
    }

    /** The section of {@code pfn} if it is an allocated order-0 block holding no live table, else null. */
    private Section smallDataBlock(long pfn) {
        if (Long.compareUnsigned(pfn, frames) >= 0) {
            return null;
        }
        Section s = section(pfn);
        if (s == null) {
            return null;
        }
        int off = offset(pfn);
        PageDesc d = s.desc[off];
        boolean liveTable = d != null && !d.poisoned();
        return s.state[off] == Section.ALLOCATED_HEAD && s.order[off] == 0 && !liveTable ? s : null;
    }

    /** The section of a frame the caller claims is in use; never-allocated memory has none. */
    private Section sectionOfUsed(long pfn, String op) {
        checkPfn(pfn);
        Section s = section(pfn);
        if (s == null) {
            throw new InvalidFrameException(op + " of pfn 0x" + Long.toHexString(pfn) + " which was never allocated");
        }
        return s;
    }

    /**
     * {@code set_page_refcounted}: a release store, not a volatile one. Only the allocating
     * CPU can name the frame until the allocator returns it; the hand-off of the pfn orders
     * this store for everyone else, and the release keeps it after the metadata written
     * before it. (A full fence here was a third of an order-0 allocate+free pair.)
     */
    void setRefcount(long pfn, int v) {
        setRefcount(section(pfn), offset(pfn), v);
    }

    /** {@link #setRefcount(long, int)} for a caller that already has the frame's section. */
    static void setRefcount(Section s, int off, int v) {
        REFCOUNT.setRelease(s.refcount, off, v);
    }

    /**
     * Called by the allocator when a block is freed: poisons its table backing. A block never
     * crosses a section (sections are aligned and larger than a max-order block), so one
     * section lookup serves the whole block.
     */
    void poisonFreed(long pfn, int order) {
        PageDesc[] descs = section(pfn).desc;
        int off = offset(pfn);
        for (int i = off, end = off + (1 << order); i < end; i++) {
            PageDesc d = descs[i];
            if (d != null) {
                d.poison();
            }
        }
    }

    /** Order of the allocated block whose head is {@code pfn}; -1 if {@code pfn} is not a block head. */
    public int orderOf(long pfn) {
        checkPfn(pfn);
        Section s = section(pfn);
        if (s == null || s.state[offset(pfn)] != Section.ALLOCATED_HEAD) {
            return -1;
        }
        return s.order[offset(pfn)];
    }

    /**
     * Records whether the block just allocated at {@code pfn} is movable user memory. A plain
     * store: only the allocating CPU names the block until the allocator returns it, and the
     * audit that reads it runs at a quiescent point.
     */
    void setMovable(long pfn, boolean movable) {
        section(pfn).movable[offset(pfn)] = movable ? (byte) 1 : 0;
    }

    /** Whether {@code pfn} heads an allocated block that was allocated movable ({@link Gfp#movable}). */
    public boolean isMovable(long pfn) {
        return isAllocated(pfn) && section(pfn).movable[offset(pfn)] != 0;
    }

    /**
     * Calls {@code f} with the head pfn of every allocated block that was allocated movable
     * ({@link Gfp#movable}: the data folios of user memory), in pfn order. Sections never
     * allocated from are skipped. For audits at a quiescent point: it takes no lock.
     */
    public void forEachMovableBlock(java.util.function.LongConsumer f) {
        for (int si = 0; si < sections.length; si++) {
            Section s = sections[si];
            if (s == null) {
                continue;
            }
            long base = (long) si << SECTION_SHIFT;
            int n = (int) Math.min(SECTION_FRAMES, frames - base);
            for (int off = 0; off < n; off++) {
                if (s.state[off] == Section.ALLOCATED_HEAD && s.movable[off] != 0) {
                    f.accept(base + off);
                }
            }
        }
    }

    /** The head of the allocated block (compound page) containing {@code pfn}; -1 if none. */
    public long compoundHead(long pfn) {
        for (int k = 0; k <= BuddyAllocator.MAX_ORDER; k++) {
            long head = pfn & -(1L << k);
            int o = orderOf(head);
            if (o >= k) {
                return head;
            }
        }
        return -1;
    }
}
