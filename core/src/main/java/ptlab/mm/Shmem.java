package ptlab.mm;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import ptlab.cpu.LockClass;
import ptlab.cpu.Mutex;
import ptlab.cpu.ViolationLog;
import ptlab.phys.BuddyAllocator;
import ptlab.phys.Gfp;
import ptlab.phys.PhysicalMemory;

/**
 * The shmem file behind a {@code MAP_SHARED|MAP_ANONYMOUS} mapping: its page cache, with
 * small folios per page index and huge (PMD-order) folios per aligned index range once
 * collapsed. Pages hold a reference for the cache; each mapping takes one more.
 *
 * <p>Also the parts of {@code struct address_space} that retraction needs: {@code i_mmap} (the
 * VMAs mapping the file, under {@code i_mmap_rwsem}) and the folio lock of each PMD-sized
 * index range. A fault holds the folio lock of its range while it maps a page of the file, and
 * khugepaged holds it across {@code collapse_file} and {@code retract_page_tables}: that is why
 * retraction needs no {@code pmd_same} check (nothing can refill the table).
 */
final class Shmem {
    private final BuddyAllocator alloc;
    private final PhysicalMemory mem;
    private final int hugeOrder;
    /** index -> pfn of a small folio. */
    private final Map<Long, Long> small = new HashMap<>();
    /** aligned index -> pfn of a huge folio. */
    private final Map<Long, Long> huge = new HashMap<>();
    final long sizePages;
    /** VMAs mapping this file (the file goes when the last one does); processes change it under their own mmap_lock. */
    private int users;
    /** {@code i_mmap_rwsem} (exclusive here): guards {@link #iMmap} and the bounds of the VMAs in it. */
    private final Mutex iMmapLock;
    /** {@code mapping->i_mmap}: every VMA mapping the file, with its process. */
    private final List<Mapping> iMmap = new ArrayList<>();
    private final Map<Long, Mutex> folioLocks = new ConcurrentHashMap<>();
    private final ViolationLog log;

    /** One VMA of {@code i_mmap}. */
    record Mapping(Process process, Vma vma) {}

    /** For its {@link PageContents} hook, read at each use (it may be set after the file was made). */
    private final Kernel k;

    Shmem(Kernel k, long sizePages) {
        this.k = k;
        this.log = k.log;
        this.iMmapLock = new Mutex("i_mmap_rwsem", LockClass.I_MMAP, k.log);
        this.alloc = k.alloc;
        this.mem = k.alloc.memory();
        this.sizePages = sizePages;
        this.hugeOrder = k.hugeOrder;
    }

    synchronized void addUser() {
        users++;
    }

    /** Returns the users left. */
    synchronized int dropUser() {
        return --users;
    }

    /* ---- i_mmap and folio locks ---- */

    /** {@code i_mmap_lock_write} / {@code i_mmap_lock_read}. */
    void lockIMmap() {
        iMmapLock.lock();
    }

    void unlockIMmap() {
        iMmapLock.unlock();
    }

    /** {@code vma_link_file}: caller holds the i_mmap lock. */
    void link(Process p, Vma v) {
        iMmap.add(new Mapping(p, v));
    }

    /** {@code unlink_file_vma}: caller holds the i_mmap lock. */
    void unlink(Vma v) {
        iMmap.removeIf(m -> m.vma() == v);
    }

    /** A copy of i_mmap; caller holds the i_mmap lock. */
    List<Mapping> mappings() {
        return new ArrayList<>(iMmap);
    }

    /** The folio lock of the PMD-sized index range holding {@code index}. */
    Mutex folioLock(long index) {
        return folioLocks.computeIfAbsent(hugeBase(index), b -> new Mutex("folio_lock@" + Long.toHexString(b), LockClass.FOLIO_LOCK, log));
    }

    long hugeBase(long index) {
        return index & -(1L << hugeOrder);
    }

    /** The huge folio covering {@code index}, or -1. */
    synchronized long hugeFolio(long index) {
        Long p = huge.get(hugeBase(index));
        return p == null ? -1 : p;
    }

    /** {@code shmem_get_folio}: the page for {@code index}, allocated on first use. Returns the page's pfn. */
    synchronized long getPage(long index) {
        long h = hugeFolio(index);
        if (h >= 0) {
            return h + (index - hugeBase(index));
        }
        Long p = small.get(index);
        if (p == null) {
            p = alloc.allocate(0, Gfp.HIGHUSER, "shmem_alloc_folio").pfnOrThrow();
            k.contents.clear(p, 0, "shmem_get_folio"); // clear_highpage of a new folio, before it is mapped
            small.put(index, p);
        }
        return p;
    }

    /**
     * {@code collapse_file}: replaces the small folios of the aligned range around {@code index}
     * with one huge folio (holes are filled). Returns the huge folio's pfn.
     */
    synchronized long collapse(long index) {
        long base = hugeBase(index);
        Long existing = huge.get(base);
        if (existing != null) {
            return existing;
        }
        long pfn = alloc.allocate(hugeOrder, Gfp.HIGHUSER, "shmem_collapse").pfnOrThrow();
        PageContents c = k.contents;
        for (long i = base; i < base + (1L << hugeOrder); i++) {
            Long p = small.remove(i);
            // collapse_file: each small folio copied into its place (it is unmapped everywhere
            // by now: the caller zapped every mapping), holes zeroed.
            if (p != null) {
                c.copy(p, pfn + (i - base), "collapse_file");
            } else {
                c.clear(pfn + (i - base), 0, "collapse_file");
            }
            if (p != null && mem.putPage(p) == 0) {
                alloc.free(p, 0);
            }
        }
        huge.put(base, pfn);
        return pfn;
    }

    /** Drops the cache's references (the file is gone: last mapping unmapped). */
    synchronized void release() {
        for (long p : small.values()) {
            if (mem.putPage(p) == 0) {
                alloc.free(p, 0);
            }
        }
        for (long p : huge.values()) {
            if (mem.putPage(p) == 0) {
                alloc.free(p, hugeOrder);
            }
        }
        small.clear();
        huge.clear();
    }

    /** Calls {@code f} with the head pfn of every folio in the cache (each holds one reference for it). */
    synchronized void forEachFolio(java.util.function.LongConsumer f) {
        small.values().forEach(f::accept);
        huge.values().forEach(f::accept);
    }

    /** Whether any page of {@code [base, base + n)} is in the cache. */
    synchronized boolean anyPresent(long base, long n) {
        if (huge.containsKey(hugeBase(base))) {
            return true;
        }
        for (long i = base; i < base + n; i++) {
            if (small.containsKey(i)) {
                return true;
            }
        }
        return false;
    }
}
