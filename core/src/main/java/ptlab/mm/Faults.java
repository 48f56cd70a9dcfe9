package ptlab.mm;

import ptlab.arch.Level;
import ptlab.arch.PageProt;
import ptlab.pgtable.PageTables;
import ptlab.pgtable.PteMapping;
import ptlab.phys.AllocResult;
import ptlab.phys.Gfp;
import ptlab.phys.OutOfMemoryException;
import ptlab.phys.PageDesc;

/**
 * Page faults ({@code handle_mm_fault}) for anonymous private and shmem mappings: the access
 * check, {@code __handle_mm_fault}'s walk with on-demand table install, the THP fault when the
 * PMD is none and the VMA allows it, and {@code do_anonymous_page} / {@code do_wp_page} /
 * {@code do_shared_fault} at the PTE level.
 */
final class Faults {
    private Faults() {}

    static Errno touch(Process p, long addr, long len, boolean write) {
        Kernel k = p.k;
        long page = k.geo.pageSize();
        long end = addr + len;
        if (Long.compareUnsigned(end, addr) < 0) {
            end = -1; // wraps past 2^64: up to the top, where the access faults (the user half ends below)
        }
        for (long x = addr; Long.compareUnsigned(x, end) < 0; ) {
            long va = x & -page;
            Errno e = fault(p, va, write);
            if (!e.ok()) {
                return e;
            }
            if (x + page < x) {
                break;
            }
            x += page;
            // The next accesses of this touch that land in the same PTE table and VMA, where
            // the PTEs are still none, are faulted as one run (see faultRun).
            long run = runLength(p, va, x, end);
            if (run > 0) {
                long done = faultRun(p, va + page, run, write);
                if (done < 0) {
                    return Errno.ENOMEM;
                }
                x += done * page;
            }
        }
        return Errno.OK;
    }

    /**
     * How many of the touch's next accesses (starting at {@code x}, page after {@code va}) can
     * be faulted as one run: same VMA (private anonymous), same PTE table, no end of the touch.
     */
    private static long runLength(Process p, long va, long x, long end) {
        Kernel k = p.k;
        if (Long.compareUnsigned(x, end) >= 0) {
            return 0;
        }
        Vma v = p.vmaAt(va);
        if (v == null || !v.isAnonymous()) {
            return 0;
        }
        long tableEnd = (va | (k.pmdSize - 1)) + 1;
        long limit = tableEnd == 0 || Long.compareUnsigned(v.end, tableEnd) < 0 ? v.end : tableEnd;
        long page = k.geo.pageSize();
        long nextPage = va + page;
        if (Long.compareUnsigned(nextPage, limit) >= 0) {
            return 0;
        }
        long pagesInLimit = (limit - nextPage) / page;
        long accesses = (end - x + page - 1) / page; // accesses left in the touch: x, x + page, ... < end
        return Math.min(pagesInLimit, accesses);
    }

    /**
     * Faults {@code count} consecutive pages from {@code va} of one private anonymous VMA and
     * one PTE table, as that many single faults would, in one pass under the PTE lock: the
     * leading run of none PTEs gets its pages (allocated in order, before the lock, as
     * do_anonymous_page allocates before it locks) or the zero page; the first page that is
     * not none ends the run and goes back to the one-page path. Returns the pages handled, or
     * {@code -1} when an allocation failed (the pages before it are mapped, as page-by-page
     * faults would leave them, and ENOMEM applies).
     */
    /*
     * Same result as page-by-page faults: the same frames in the same order (allocation k is
     * for the k-th none page either way, so fault injection fails the same page), the same
     * PTEs, no TLB flush (none -> present needs none). A PTE that another CPU filled between
     * the pre-read and the lock is left as it is, and that page takes the one-page path again.
     * The PTEs of each run of none entries are stored with one Mapped.writeRun (its checks
     * once per run); under the lock no one else can fill a none entry meanwhile.
     */
    private static long faultRun(Process p, long va, long count, boolean write) {
        Kernel k = p.k;
        PageDesc pmdTable = k.installer.lookup(p.mm, va, k.pmdLevel);
        if (pmdTable == null) {
            return 0;
        }
        int pmdIdx = k.geo.index(k.pmdLevel, va);
        Vma v = p.vmaAt(va);
        long page = k.geo.pageSize();
        int idx0 = k.geo.index(Level.PTE, va);
        int n = 0;
        // The lockless peek (pte_offset_map_ro_nolock) that sizes the run; revalidated under the lock.
        PteMapping peek = k.pt.pteMaps().mapRoNolock(p.mm, pmdTable, pmdIdx);
        if (!(peek instanceof PteMapping.Mapped)) {
            return 0;
        }
        try (PteMapping.Mapped m = (PteMapping.Mapped) peek) {
            while (n < count && k.fmt.isNone(m.read(idx0 + n))) {
                n++;
            }
        }
        if (n == 0) {
            return 0;
        }
        long[] pfns = write ? new long[n] : null;
        int got = n;
        if (write) {
            v.anonVmaPrepare();
            got = k.alloc.allocateSmall(Gfp.HIGHUSER, "do_anonymous_page", pfns, n); // allocation i for page i, as one by one
            PageContents c = k.contents;
            for (int i = 0; i < got; i++) {
                c.clear(pfns[i], 0, "do_anonymous_page"); // vma_alloc_zeroed_movable_folio, before the PTE is set
            }
        }
        PageProt prot = v.faultProt(write);
        int shift = k.geo.pageShift();
        long zeroPte = write ? 0 : k.fmt.mkLeaf(Level.PTE, k.zeroPfn << shift, prot);
        // The new PTEs: a write fault's replace its page's pfn in place (pfns[i] stays a pfn
        // exactly where the page was not used, retry[i]).
        long[] ptes = write ? pfns : new long[got];
        boolean[] retry = null;
        PteMapping pm = k.pt.pteMaps().mapLock(p.mm, pmdTable, pmdIdx);
        if (!(pm instanceof PteMapping.Mapped)) {
            retry = new boolean[got];
            java.util.Arrays.fill(retry, true); // the table went away: every page takes the one-page path
        } else {
            try (PteMapping.Mapped m = (PteMapping.Mapped) pm) {
                int run = 0; // first entry of the run of none PTEs not written yet
                for (int i = 0; i < got; i++) {
                    if (!k.fmt.isNone(m.read(idx0 + i))) {
                        if (retry == null) {
                            retry = new boolean[got];
                        }
                        retry[i] = true;
                        m.writeRun(idx0 + run, ptes, run, i - run);
                        run = i + 1;
                        continue;
                    }
                    ptes[i] = write ? k.fmt.mkLeaf(Level.PTE, pfns[i] << shift, prot) : zeroPte;
                }
                m.writeRun(idx0 + run, ptes, run, got - run); // set_pte_at of each
            }
        }
        if (write && retry != null) {
            for (int i = 0; i < got; i++) {
                if (retry[i]) {
                    k.alloc.free(pfns[i], 0); // not used: that page takes the one-page path
                }
            }
        }
        if (retry != null) {
            for (int i = 0; i < got; i++) {
                if (retry[i] && !fault(p, va + i * page, write).ok()) {
                    return -1;
                }
            }
        }
        return got < n ? -1 : n;
    }

    /** One access to the page at {@code va}: nothing if it is already mapped with enough rights. */
    static Errno fault(Process p, long va, boolean write) {
        Kernel k = p.k;
        Vma v = p.vmaAt(va);
        if (v == null || !v.accessible() || (write && !v.has(Vma.WRITE))) {
            return Errno.EFAULT;
        }
        if (!write && k.execOnlyReadFaults && !v.has(Vma.READ) && !v.has(Vma.WRITE)) {
            // arch_vma_access_permitted: the execute-only pkey denies data access (SEGV_PKUERR),
            // for a page never mapped as for one whose PTE already carries the key.
            return Errno.EFAULT;
        }
        try {
            handle(p, v, va, write);
        } catch (OutOfMemoryException oom) {
            return Errno.ENOMEM;
        }
        return Errno.OK;
    }

    private static void handle(Process p, Vma v, long va, boolean write) {
        if (v.isAnonymous()) {
            while (!handleOnce(p, v, va, write)) {
                // the PTE table went away under us (pte_offset_map_lock found no table): fault again
            }
            return;
        }
        // __do_fault locks the page-cache folio; finish_fault maps it with the folio locked, so
        // khugepaged (which holds the lock across collapse and retract) never sees a refill.
        ptlab.cpu.Mutex folio = v.shmem.folioLock(v.pgoff + ((va - v.start) >>> p.k.geo.pageShift()));
        folio.lock();
        try {
            while (!handleOnce(p, v, va, write)) {
                // as above
            }
        } finally {
            folio.unlock();
        }
    }

    /** One attempt; false if it must be retried (VM_FAULT_RETRY-like: the PMD changed under the fault). */
    private static boolean handleOnce(Process p, Vma v, long va, boolean write) {
        Kernel k = p.k;
        PageDesc pmdTable = k.installer.walkAlloc(p.mm, va, k.pmdLevel, null);
        if (pmdTable == null) {
            throw new IllegalStateException("huge entry above PMD level at 0x" + Long.toHexString(va));
        }
        int pmdIdx = k.geo.index(k.pmdLevel, va);
        long pmd = PageTables.read(pmdTable, pmdIdx);
        if (k.fmt.isNone(pmd) && Thp.faultHuge(p, v, va, write, pmdTable, pmdIdx)) {
            return true;
        }
        pmd = PageTables.read(pmdTable, pmdIdx);
        if (k.fmt.isLeaf(k.pmdLevel, pmd)) {
            // vmf->orig_pmd: the huge fault decides on this snapshot and rechecks it under the lock.
            return Thp.hugeWriteFault(p, v, va, write, pmdTable, pmdIdx, pmd);
        }
        if (!k.fmt.isTable(k.pmdLevel, pmd)) {
            k.installer.install(p.mm, pmdTable, pmdIdx, k.pmdLevel, Level.PTE, null);
        }
        return ptePage(p, v, va, write, pmdTable, pmdIdx);
    }

    /**
     * The PTE-level fault ({@code do_anonymous_page}, {@code do_wp_page}, {@code finish_fault}):
     * the page is allocated first (it may sleep), then the table is entered with
     * {@code pte_offset_map_lock}. Returns false if there was no table any more (retry).
     */
    private static boolean ptePage(Process p, Vma v, long va, boolean write, PageDesc pmdTable, int pmdIdx) {
        Kernel k = p.k;
        int idx = k.geo.index(Level.PTE, va);
        // Allocate before taking the lock (the allocation may sleep). The lockless peek that
        // decides it is revalidated under the lock.
        long newPfn = -1;
        long cur;
        PteMapping peek = k.pt.pteMaps().mapRoNolock(p.mm, pmdTable, pmdIdx);
        if (!(peek instanceof PteMapping.Mapped)) {
            return false;
        }
        boolean needPage;
        try (PteMapping.Mapped m = (PteMapping.Mapped) peek) {
            cur = m.read(idx);
            needPage = v.isAnonymous() && write && (k.fmt.isNone(cur) || isZeroPte(k, cur) || sharedAnon(k, m, cur));
        }
        if (needPage) {
            v.anonVmaPrepare();
            AllocResult r = k.alloc.allocate(0, Gfp.HIGHUSER, "do_anonymous_page");
            newPfn = r.pfnOrThrow();
        }
        // shmem: __do_fault gets (and may allocate) the page cache folio before finish_fault locks.
        long shmemPfn = v.isAnonymous() ? -1 : v.shmem.getPage(v.pgoff + ((va - v.start) >>> k.geo.pageShift()));
        PteMapping pm = k.pt.pteMaps().mapLock(p.mm, pmdTable, pmdIdx);
        if (!(pm instanceof PteMapping.Mapped)) {
            if (newPfn >= 0) {
                k.alloc.free(newPfn, 0);
            }
            return false;
        }
        PteMapping.Mapped m = (PteMapping.Mapped) pm;
        try {
            cur = m.read(idx);
            if (v.isAnonymous() && write && newPfn < 0 && (k.fmt.isNone(cur) || isZeroPte(k, cur) || sharedAnon(k, m, cur))) {
                return false; // changed since the peek (zapped, or shared by a fork): allocate and retry
            }
            long pa;
            boolean written; // mapped as by a write fault: writable and dirty
            if (!v.isAnonymous()) {
                if (!k.fmt.isNone(cur) && (!write || k.fmt.isWrite(cur))) {
                    return true;
                }
                long pfn = shmemPfn;
                if (k.fmt.isNone(cur)) {
                    Pages.get(k, pfn, "finish_fault");
                } else if (k.fmt.outputAddress(Level.PTE, cur) >>> k.geo.pageShift() != pfn) {
                    // the cache page changed under a read-only PTE: move the mapping's reference
                    Pages.get(k, pfn, "finish_fault");
                    Pages.put(k, k.fmt.outputAddress(Level.PTE, cur) >>> k.geo.pageShift(), "finish_fault");
                }
                pa = pfn << k.geo.pageShift();
                written = write; // a write fault; a read maps vm_page_prot (see faultProt)
            } else if (k.fmt.isNone(cur)) {
                if (!write) {
                    pa = k.zeroPfn << k.geo.pageShift();
                    written = false;
                } else {
                    k.contents.clear(newPfn, 0, "do_anonymous_page");
                    pa = newPfn << k.geo.pageShift();
                    newPfn = -1;
                    written = true;
                }
            } else {
                if (!write || k.fmt.isWrite(cur)) {
                    return true; // already mapped with enough rights (A/D aside)
                }
                long oldPfn = k.fmt.outputAddress(Level.PTE, cur) >>> k.geo.pageShift();
                boolean copied = newPfn >= 0;
                if (copied) {
                    // do_wp_page: copy on write (zero page, or a page still shared). wp_page_copy
                    // takes a zeroed page for the zero page, a copy of the old one otherwise; the
                    // old page is read-only in every mapping, so its bytes hold still.
                    if (k.isZeroPfn(oldPfn)) {
                        k.contents.clear(newPfn, 0, "wp_page_copy");
                    } else {
                        k.contents.copy(oldPfn, newPfn, "wp_page_copy");
                    }
                    pa = newPfn << k.geo.pageShift();
                    newPfn = -1;
                } else {
                    pa = k.fmt.outputAddress(Level.PTE, cur); // reuse: we are the only user
                }
                written = true;
                // ptep_clear_flush: clear, flush, then set, so no CPU can refill the old translation.
                m.getAndClear(idx);
                k.flushTlbRange(p.mm, va & -k.geo.pageSize(), (va & -k.geo.pageSize()) + k.geo.pageSize());
                if (copied) {
                    // wp_page_copy drops the old page's reference only after the flush: if the
                    // other mapping went meanwhile, this put frees it.
                    Pages.put(k, oldPfn, "wp_page_copy");
                }
            }
            PageProt prot = v.faultProt(written);
            m.write(idx, k.fmt.mkLeaf(Level.PTE, pa, prot));
            return true;
        } finally {
            m.close(); // pte_unmap_unlock
            if (newPfn >= 0) {
                k.alloc.free(newPfn, 0); // raced or not needed
            }
        }
    }

    static boolean isZeroPte(Kernel k, long pte) {
        return k.fmt.isPresent(pte) && k.isZeroPfn(k.fmt.outputAddress(Level.PTE, pte) >>> k.geo.pageShift());
    }

    /**
     * A present read-only PTE whose page a write must copy ({@code !wp_can_reuse_anon_folio}):
     * a small folio with another reference (a fork's), or a page of a PTE-mapped large folio
     * unless {@code __wp_can_reuse_large_anon_folio} (6.13+, CONFIG_MM_ID) would reuse it:
     * more than one of the folio's pages mapped, all in this mm, and every reference a mapping.
     * An anonymous folio's references here are its mappings, and this mm maps a PTE-mapped
     * THP's pages only through the table its PMD was split into, so the count of the table's
     * PTEs into the folio decides. Before 2026-11-22 a large folio was never copied: after a
     * fork, a write to a split THP made the page shared with the other process writable in
     * place (both then saw each other's stores; PageContentsTest found it).
     */
    private static boolean sharedAnon(Kernel k, PteMapping.Mapped m, long pte) {
        if (!k.fmt.isPresent(pte) || k.fmt.isWrite(pte)) {
            return false;
        }
        long pfn = k.fmt.outputAddress(Level.PTE, pte) >>> k.geo.pageShift();
        ptlab.phys.PhysicalMemory mem = k.alloc.memory();
        long head = mem.compoundHead(pfn);
        if (head < 0) {
            return false;
        }
        int refs = mem.refcount(head);
        int order = mem.orderOf(head);
        if (order == 0) {
            return refs > 1;
        }
        long end = head + (1L << order);
        int here = 0;
        int shift = k.geo.pageShift();
        for (int i = 0, n = k.geo.entries(Level.PTE); i < n; i++) {
            long e = m.read(i);
            if (k.fmt.isPresent(e)) {
                long f = k.fmt.outputAddress(Level.PTE, e) >>> shift;
                if (f >= head && f < end) {
                    here++;
                }
            }
        }
        return !(here > 1 && refs == here);
    }
}
