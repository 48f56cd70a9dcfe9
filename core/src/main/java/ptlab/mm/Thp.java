package ptlab.mm;

import ptlab.arch.Level;
import ptlab.arch.PageProt;
import ptlab.cpu.SpinLock;
import ptlab.pgtable.EntryUpdates;
import ptlab.pgtable.Mm;
import ptlab.pgtable.PageTables;
import ptlab.pgtable.Retraction;
import ptlab.pgtable.ThpMode;
import ptlab.phys.AllocResult;
import ptlab.phys.Gfp;
import ptlab.phys.OutOfMemoryException;
import ptlab.phys.PageDesc;

/**
 * Transparent huge pages at the PMD level ({@code mm/huge_memory.c}, {@code mm/khugepaged.c}):
 * the huge fault with its deposited PTE table, the huge zero page, {@code __split_huge_pmd},
 * {@code zap_huge_pmd}, and MADV_COLLAPSE for anonymous and shmem memory.
 */
/*
 * Implementation notes.
 *
 * Deposit rule (x86, arm64): every present anonymous or huge-zero PMD leaf owns one
 * constructed PTE table, allocated before the PMD lock is taken, counted in nr_ptes and parked
 * under the PMD lock. A split withdraws it (after invalidating the PMD) and fills it, then
 * pmd_populate publishes it with a release store; a zap withdraws and frees it. Shmem PMD
 * mappings deposit nothing (arch_needs_pgtable_deposit() is false), so their split only clears.
 *
 * MADV_COLLAPSE (6.18): allowed unless VM_NOHUGEPAGE, for a VMA that can hold an aligned huge
 * range at its end and (anonymous) has an anon_vma; a none PMD fails the range (EINVAL), a
 * PMD-mapped range succeeds; an anonymous PTE table, empty or not, becomes the deposit of the
 * new huge PMD. A shmem range is collapsed in the page cache, this mm's PTE table is retracted
 * (freed, nr_ptes drops) and the PMD maps the huge folio.
 */
final class Thp {
    private Thp() {}

    /** {@code thp_vma_suitable_order} for the PMD order at {@code va}. */
    static boolean suitable(Kernel k, Vma v, long va) {
        if (!v.isAnonymous()) {
            long pages = k.pmdSize >>> k.geo.pageShift();
            if ((((v.start >>> k.geo.pageShift()) - v.pgoff) & (pages - 1)) != 0) {
                return false;
            }
        }
        long h = va & -k.pmdSize;
        return Long.compareUnsigned(h, v.start) >= 0 && Long.compareUnsigned(h + k.pmdSize, v.end) <= 0;
    }

    /** Whether a page fault may map a THP in this VMA (sysfs mode and VMA flags; anonymous private only). */
    private static boolean faultAllowed(Kernel k, Vma v) {
        if (!k.thpSupported || !v.isAnonymous() || v.has(Vma.NOHUGEPAGE)) {
            return false;
        }
        ThpMode m = k.config.thp();
        return m == ThpMode.ALWAYS || (m == ThpMode.MADVISE && v.has(Vma.HUGEPAGE));
    }

    /**
     * The fault path when the PMD is none: {@code do_huge_pmd_anonymous_page} (THP or huge zero
     * page) or a shmem huge folio's PMD mapping. Returns false if the fault must go to PTEs.
     */
    static boolean faultHuge(Process p, Vma v, long va, boolean write, PageDesc pmdTable, int pmdIdx) {
        Kernel k = p.k;
        long haddr = va & -k.pmdSize;
        if (!v.isAnonymous()) {
            long index = v.pgoff + ((haddr - v.start) >>> k.geo.pageShift());
            long head = v.shmem.hugeFolio(index);
            // do_set_pmd (6.12+): a huge folio already in the page cache is still mapped by PTEs
            // when THP is disabled for the VMA (VM_NOHUGEPAGE) or by the hardware.
            if (head < 0 || !k.thpSupported || v.has(Vma.NOHUGEPAGE) || !suitable(k, v, va)) {
                return false;
            }
            return setPmd(p, pmdTable, pmdIdx, head, v.faultProt(write), null);
        }
        if (!faultAllowed(k, v) || !suitable(k, v, va)) {
            return false;
        }
        v.anonVmaPrepare();
        long folio;
        if (!write) {
            folio = k.hugeZeroPfn();
        } else {
            AllocResult r = k.alloc.allocate(k.hugeOrder, Gfp.HIGHUSER, "vma_alloc_anon_folio_pmd");
            if (!r.ok()) {
                return false; // THP_FAULT_FALLBACK: map 4K pages instead
            }
            folio = r.pfnOrThrow();
            k.contents.clear(folio, k.hugeOrder, "folio_zero_user"); // __do_huge_pmd_anonymous_page
        }
        PageDesc deposit;
        try {
            deposit = k.pt.allocTable(p.mm, p.mm, Level.PTE, "pte_alloc_one");
        } catch (OutOfMemoryException e) {
            if (write) {
                k.alloc.free(folio, k.hugeOrder);
            }
            throw e;
        }
        if (!setPmd(p, pmdTable, pmdIdx, folio, v.faultProt(write), deposit)) {
            k.pt.freeTable(deposit);
            if (write) {
                k.alloc.free(folio, k.hugeOrder);
            }
            return true; // someone else mapped it; the access is satisfied by a retry
        }
        return true;
    }

    /** Installs a huge PMD if the entry is still none; deposits {@code deposit} (anonymous) first. */
    static boolean setPmd(Process p, PageDesc pmdTable, int pmdIdx, long headPfn, PageProt prot, PageDesc deposit) {
        Kernel k = p.k;
        SpinLock pml = k.pt.pmdLockptr(p.mm, pmdTable);
        pml.lock();
        try {
            if (!k.fmt.isNone(PageTables.read(pmdTable, pmdIdx))) {
                return false;
            }
            if (deposit != null) {
                k.pt.accountTable(p.mm, Level.PTE, +1);
                k.pt.deposit(p.mm, pmdTable, deposit);
            } else {
                Pages.get(k, headPfn, "do_set_pmd");
            }
            PageTables.write(pmdTable, pmdIdx, k.fmt.mkLeaf(k.pmdLevel, headPfn << k.geo.pageShift(), prot));
            return true;
        } finally {
            pml.unlock();
        }
    }

    /**
     * A write fault on a present huge PMD ({@code wp_huge_pmd}), decided on {@code origPmd},
     * the leaf the fault walk saw ({@code vmf->orig_pmd}). Returns true if the fault is done;
     * false if it must be handled again from the PMD (the PMD was split, or it is no longer
     * {@code origPmd}).
     */
    /*
     * Every decision rests on the snapshot and is rechecked with pmd_same under the PMD lock,
     * as do_huge_pmd_wp_page does: a concurrent zap (MADV_DONTNEED holds only the mmap read
     * lock) may clear the PMD at any time, and re-reading it here instead would upgrade a none
     * PMD into a "huge leaf" of pfn 0 (the bug behind issue 7's flaky stress run: its zap then
     * put a reference on pfn 0, swapper_pg_dir, and freed it).
     *
     * Shared file mappings: shmem has no ->huge_fault, so wp_huge_pmd splits the PMD (for a
     * file that only clears it and drops the mapping's reference) and returns
     * VM_FAULT_FALLBACK; the refault then meets a none PMD and finish_fault's do_set_pmd maps
     * the huge folio again, writable (by PTEs if the VMA is VM_NOHUGEPAGE). A shmem PMD of a
     * writable VMA is writable from the start (Vma.pageProtWritable), so this path is rare.
     */
    static boolean hugeWriteFault(Process p, Vma v, long va, boolean write, PageDesc pmdTable, int pmdIdx, long origPmd) {
        Kernel k = p.k;
        if (!write || k.fmt.isWrite(origPmd)) {
            return true;
        }
        if (!v.isAnonymous()) {
            split(p, v, pmdTable, pmdIdx);
            return false;
        }
        long head = k.fmt.outputAddress(k.pmdLevel, origPmd) >>> k.geo.pageShift();
        long fresh = -1;
        if (k.isZeroPfn(head)) {
            // do_huge_zero_wp_pmd: replace the huge zero page by a new THP; the deposit stays.
            AllocResult r = k.alloc.allocate(k.hugeOrder, Gfp.HIGHUSER, "do_huge_zero_wp_pmd");
            if (!r.ok()) {
                split(p, v, pmdTable, pmdIdx);
                return false;
            }
            fresh = r.pfnOrThrow();
            k.contents.clear(fresh, k.hugeOrder, "folio_zero_user"); // as a THP fault's
        } else if (k.alloc.memory().refcount(head) > 1) {
            split(p, v, pmdTable, pmdIdx); // do_huge_pmd_wp_page on a shared THP: fall back to PTEs
            return false;
        }
        SpinLock pml = k.pt.pmdLockptr(p.mm, pmdTable);
        pml.lock();
        try {
            if (PageTables.read(pmdTable, pmdIdx) != origPmd) { // !pmd_same(*vmf->pmd, orig_pmd)
                if (fresh >= 0) {
                    k.alloc.free(fresh, k.hugeOrder);
                }
                return false;
            }
            long newHead = fresh >= 0 ? fresh : head;
            PageTables.write(pmdTable, pmdIdx, k.fmt.mkLeaf(k.pmdLevel, newHead << k.geo.pageShift(), v.faultProt(true)));
            k.flushTlbRange(p.mm, va & -k.pmdSize, (va & -k.pmdSize) + k.pmdSize);
        } finally {
            pml.unlock();
        }
        return true;
    }

    /** What a range operation does to a huge PMD wholly inside its range. */
    interface WholePmdOp {
        void apply(Process p, Vma v, PageDesc pmdTable, int pmdIdx);
    }

    /**
     * The rule range operations (zap, change_protection) share for a huge leaf met by the walk:
     * a huge PMD wholly inside the range goes to {@code whole}; one only partly inside is split
     * first and the entry visited again as a table.
     */
    static ptlab.walk.Action wholeOrSplit(Process p, Vma v, ptlab.walk.WalkCursor c, WholePmdOp whole) {
        Kernel k = p.k;
        if (c.level() != k.pmdLevel) {
            return ptlab.walk.Action.CONTINUE;
        }
        if (c.end() - c.addr() == k.pmdSize) {
            whole.apply(p, v, c.table(), c.index());
            return ptlab.walk.Action.CONTINUE;
        }
        split(p, v, c.table(), c.index());
        return ptlab.walk.Action.AGAIN;
    }

    /** {@code split_huge_pmd_if_needed}: split a huge PMD of {@code v} that straddles {@code at}. */
    static void splitIfNeeded(Process p, Vma v, long at) {
        Kernel k = p.k;
        if ((at & (k.pmdSize - 1)) == 0 || k.pmdLevel == Level.PTE) {
            return;
        }
        long h = at & -k.pmdSize;
        if (Long.compareUnsigned(h, v.start) < 0 || Long.compareUnsigned(h + k.pmdSize, v.end) > 0) {
            return;
        }
        PageDesc pmdTable = k.installer.lookup(p.mm, at, k.pmdLevel);
        if (pmdTable == null) {
            return;
        }
        int idx = k.geo.index(k.pmdLevel, at);
        if (k.fmt.isLeaf(k.pmdLevel, PageTables.read(pmdTable, idx))) {
            split(p, v, pmdTable, idx);
        }
    }

    /**
     * {@code __split_huge_pmd}: anonymous THP → 512 PTEs in the withdrawn deposit; huge zero →
     * 512 zero-page PTEs; shmem → cleared (refaults map PTEs or the PMD again).
     */
    static void split(Process p, Vma v, PageDesc pmdTable, int pmdIdx) {
        Kernel k = p.k;
        ptlab.events.Tracepoints.thp("split", p.mm, v.start, k.pmdLevel.kernelName());
        SpinLock pml = lockHugePmd(k, p.mm, pmdTable, pmdIdx);
        if (pml == null) {
            return;
        }
        try {
            long pmd = PageTables.read(pmdTable, pmdIdx);
            long head = k.fmt.outputAddress(k.pmdLevel, pmd) >>> k.geo.pageShift();
            if (!v.isAnonymous()) {
                PageTables.write(pmdTable, pmdIdx, 0L);
                k.flushTlbMm(p.mm); // no address here: flush_tlb_mm covers the PMD
                Pages.put(k, head, "__split_huge_pmd_locked");
                return;
            }
            // pmdp_invalidate first: small and huge TLB entries must never coexist. The PTEs take
            // their state from the value the exchange returned, so an A/D the MMU set after the
            // read above is kept (old_pmd = pmdp_invalidate(...)).
            pmd = ptlab.phys.Words.getAndSet(pmdTable.words(), pmdIdx, 0L);
            k.flushTlbMm(p.mm);
            PageDesc pte = k.pt.withdraw(p.mm, pmdTable);
            boolean zero = k.isZeroPfn(head);
            PageProt pp = k.fmt.prot(k.pmdLevel, pmd);
            int n = k.geo.entries(Level.PTE);
            long[] words = pte.words();
            for (int i = 0; i < n; i++) {
                long pa = zero ? k.zeroPfn << k.geo.pageShift() : (head + i) << k.geo.pageShift();
                // Not yet reachable: plain stores, published by the release store below.
                ptlab.phys.Words.setPlain(words, i, k.fmt.mkLeaf(Level.PTE, pa, pp));
            }
            if (!zero) {
                Pages.get(k, head, n - 1, "__split_huge_pmd_locked");
            }
            PageTables.write(pmdTable, pmdIdx, k.fmt.mkTable(k.pmdLevel, k.pt.pa(pte), ptlab.arch.TableKind.USER));
        } finally {
            pml.unlock();
        }
    }

    /**
     * {@code pmd_trans_huge_lock}: takes the PMD lock and returns it if the entry is (still) a
     * huge leaf; otherwise drops it again and returns {@code null}. The caller rereads the
     * entry under the lock and unlocks.
     */
    private static SpinLock lockHugePmd(Kernel k, Mm mm, PageDesc pmdTable, int pmdIdx) {
        SpinLock pml = k.pt.pmdLockptr(mm, pmdTable);
        pml.lock();
        if (k.fmt.isLeaf(k.pmdLevel, PageTables.read(pmdTable, pmdIdx))) {
            return pml;
        }
        pml.unlock();
        return null;
    }

    /** {@code zap_huge_pmd}: clear the PMD, free the deposited table, drop the folio reference. */
    static void zapHuge(Process p, Vma v, PageDesc pmdTable, int pmdIdx) {
        Kernel k = p.k;
        SpinLock pml = lockHugePmd(k, p.mm, pmdTable, pmdIdx);
        if (pml == null) {
            return;
        }
        PageDesc deposit = null;
        long head;
        try {
            long pmd = PageTables.read(pmdTable, pmdIdx);
            head = k.fmt.outputAddress(k.pmdLevel, pmd) >>> k.geo.pageShift();
            PageTables.write(pmdTable, pmdIdx, 0L);
            if (v.isAnonymous()) {
                deposit = k.pt.withdraw(p.mm, pmdTable);
            }
        } finally {
            pml.unlock();
        }
        k.flushTlbMm(p.mm);
        if (deposit != null) {
            k.pt.freeTable(deposit);
            k.pt.accountTable(p.mm, Level.PTE, -1);
        }
        Pages.put(k, head, "zap_huge_pmd");
    }

    /** {@code change_huge_pmd}: new protection on a whole huge PMD. */
    static void protectHuge(Process p, Vma v, PageDesc pmdTable, int pmdIdx) {
        Kernel k = p.k;
        SpinLock pml = lockHugePmd(k, p.mm, pmdTable, pmdIdx);
        if (pml == null) {
            return;
        }
        try {
            long pmd = PageTables.read(pmdTable, pmdIdx);
            // pmd_modify: the new protection, the old accessed and dirty state (a dirty THP made
            // read-only stays dirty), rebuilt from the value the exchange saw.
            EntryUpdates.update(k.fmt, pmdTable.words(), pmdIdx, pmd, old -> {
                PageProt pr = v.modifyProt(k.fmt.isWrite(old), k.fmt.isYoung(old), k.fmt.isDirty(old));
                return k.fmt.mkLeaf(k.pmdLevel, k.fmt.outputAddress(k.pmdLevel, old), pr);
            });
        } finally {
            pml.unlock();
        }
        k.flushTlbMm(p.mm);
    }

    /* ---- MADV_COLLAPSE ---- */

    /** {@code thp_vma_allowable_order(..., TVA_FORCED_COLLAPSE, PMD_ORDER)}. */
    private static boolean collapseAllowed(Kernel k, Vma v) {
        if (!k.thpSupported || v.has(Vma.NOHUGEPAGE) || k.config.thp() == null) {
            return false;
        }
        if (!suitable(k, v, v.end - k.pmdSize)) {
            return false;
        }
        return !v.isAnonymous() || v.anonVma != null;
    }

    static Errno madviseCollapse(Process p, Vma v, long start, long end) {
        Kernel k = p.k;
        if (!collapseAllowed(k, v)) {
            return Errno.EINVAL;
        }
        long hstart = (start + k.pmdSize - 1) & -k.pmdSize;
        long hend = end & -k.pmdSize;
        // As the kernel: unsigned (hend - hstart) >> HPAGE_PMD_SHIFT wraps when the range holds no
        // whole PMD and hend < hstart, so such a call fails with last_fail's initial SCAN_FAIL.
        long want = (hend - hstart) >>> Long.numberOfTrailingZeros(k.pmdSize);
        long thps = 0;
        Errno lastFail = Errno.EINVAL;
        for (long a = hstart; Long.compareUnsigned(a, hend) < 0; a += k.pmdSize) {
            if (!v.isAnonymous() && shmemExtentEmpty(k, v, a)) {
                // collapse_file: SCAN_TRUNCATED ("completely empty") is not in madvise_collapse's
                // list of results to go on after: the loop ends, later ranges are not collapsed.
                lastFail = Errno.EINVAL;
                break;
            }
            Errno r = v.isAnonymous() ? collapseAnon(p, v, a) : collapseShmem(p, v, a);
            if (r.ok()) {
                thps++;
            } else if (r == Errno.ENOMEM) {
                return r;
            } else {
                lastFail = r;
            }
        }
        return thps == want ? Errno.OK : lastFail;
    }

    private static Errno collapseAnon(Process p, Vma v, long haddr) {
        ptlab.events.Tracepoints.thp("collapse", p.mm, haddr, p.k.pmdLevel.kernelName());
        Kernel k = p.k;
        PageDesc pmdTable = k.installer.lookup(p.mm, haddr, k.pmdLevel);
        if (pmdTable == null) {
            return Errno.EINVAL; // SCAN_PMD_NULL
        }
        int idx = k.geo.index(k.pmdLevel, haddr);
        long pmd = PageTables.read(pmdTable, idx);
        if (k.fmt.isLeaf(k.pmdLevel, pmd)) {
            return Errno.OK; // SCAN_PMD_MAPPED
        }
        if (!k.fmt.isTable(k.pmdLevel, pmd)) {
            return Errno.EINVAL;
        }
        AllocResult r = k.alloc.allocate(k.hugeOrder, Gfp.HIGHUSER, "collapse_huge_page");
        if (!r.ok()) {
            return Errno.ENOMEM; // SCAN_ALLOC_HUGE_PAGE_FAIL
        }
        long folio = r.pfnOrThrow();
        PageDesc pte = k.pt.child(k.pmdLevel, pmd);
        SpinLock pml = k.pt.pmdLockptr(p.mm, pmdTable);
        pml.lock();
        try {
            PageTables.write(pmdTable, idx, 0L); // pmdp_collapse_flush
            k.flushTlbRange(p.mm, haddr, haddr + k.pmdSize);
            long[] words = pte.words();
            PageContents c = k.contents;
            for (int i = 0; i < words.length; i++) {
                long e = ptlab.phys.Words.getAndSet(words, i, 0L);
                // __collapse_huge_page_copy: each present page into its place in the folio, after
                // the flush above (no CPU writes it any more); none and zero-page entries zeroed.
                long src = k.fmt.isPresent(e) ? k.fmt.outputAddress(Level.PTE, e) >>> k.geo.pageShift() : -1;
                if (src >= 0 && !k.isZeroPfn(src)) {
                    c.copy(src, folio + i, "__collapse_huge_page_copy");
                } else {
                    c.clear(folio + i, 0, "__collapse_huge_page_copy");
                }
                if (src >= 0) {
                    Pages.put(k, src, "collapse_huge_page");
                }
            }
            k.pt.deposit(p.mm, pmdTable, pte);
            // collapse_huge_page: maybe_pmd_mkwrite(pmd_mkdirty(folio_mk_pmd(folio, vm_page_prot)))
            PageProt pr = v.pageProt(v.has(Vma.WRITE)).withDirty(true);
            PageTables.write(pmdTable, idx, k.fmt.mkLeaf(k.pmdLevel, folio << k.geo.pageShift(), pr));
        } finally {
            pml.unlock();
        }
        return Errno.OK;
    }

    /** No folio at all in the page cache for the PMD-sized extent at {@code haddr}. */
    private static boolean shmemExtentEmpty(Kernel k, Vma v, long haddr) {
        long index = v.pgoff + ((haddr - v.start) >>> k.geo.pageShift());
        long n = k.pmdSize >>> k.geo.pageShift();
        return v.shmem.hugeFolio(index) < 0 && !v.shmem.anyPresent(index & -n, n);
    }

    /**
     * MADV_COLLAPSE of a shmem range: {@code collapse_file} (unmap the small pages from every
     * mapping, replace them in the page cache by one huge folio) and
     * {@code retract_page_tables}, all under the huge folio's lock, then
     * {@code collapse_pte_mapped_thp(install_pmd)} maps the folio in this mm.
     */
    private static Errno collapseShmem(Process p, Vma v, long haddr) {
        ptlab.events.Tracepoints.thp("collapse", p.mm, haddr, p.k.pmdLevel.kernelName());
        Kernel k = p.k;
        Shmem file = v.shmem;
        long index = v.pgoff + ((haddr - v.start) >>> k.geo.pageShift());
        long pages = k.pmdSize >>> k.geo.pageShift();
        long head;
        ptlab.cpu.Mutex folio = file.folioLock(index);
        folio.lock();
        try {
            head = file.hugeFolio(index);
            if (head < 0) {
                if (!file.anyPresent(index & -pages, pages)) {
                    return Errno.EINVAL;
                }
                // collapse_file: try_to_unmap each small page, i.e. zap the range in every mapping.
                file.lockIMmap();
                try {
                    for (Shmem.Mapping m : file.mappings()) {
                        long addr = fileAddr(k, m.vma(), file.hugeBase(index));
                        if (addr != -1) {
                            Zap.range(m.process(), m.vma(), addr, addr + k.pmdSize, false);
                        }
                    }
                } finally {
                    file.unlockIMmap();
                }
                head = file.collapse(index);
                retractPageTables(k, file, file.hugeBase(index));
            } else {
                // Already huge in the cache: collapse_pte_mapped_thp on this mm only, which clears
                // the PTEs mapping the folio and then retracts the (now empty) table.
                Zap.range(p, v, haddr, haddr + k.pmdSize, false);
                PageDesc pmdTable = k.installer.lookup(p.mm, haddr, k.pmdLevel);
                if (pmdTable != null) {
                    new Retraction(k.pt).retract(p.mm, pmdTable, k.geo.index(k.pmdLevel, haddr), null, true,
                            () -> k.flushTlbRange(p.mm, haddr, haddr + k.pmdSize));
                }
            }
        } finally {
            folio.unlock();
        }
        PageDesc t = k.installer.walkAlloc(p.mm, haddr, k.pmdLevel, null);
        int idx = k.geo.index(k.pmdLevel, haddr);
        if (!k.fmt.isLeaf(k.pmdLevel, PageTables.read(t, idx))) {
            setPmd(p, t, idx, head, v.faultProt(false), null); // set_huge_pmd; a racing refault may have won: then it stays PTE-mapped
        }
        return Errno.OK;
    }

    /**
     * Where the PMD-aligned file range starting at page {@code base} is mapped in {@code v}, if
     * the VMA covers all of it and the address is PMD-aligned; else -1.
     */
    private static long fileAddr(Kernel k, Vma v, long base) {
        long pages = k.pmdSize >>> k.geo.pageShift();
        if (base < v.pgoff) {
            return -1;
        }
        long addr = v.start + ((base - v.pgoff) << k.geo.pageShift());
        if ((addr & (k.pmdSize - 1)) != 0 || Long.compareUnsigned(addr, v.start) < 0
                || Long.compareUnsigned(addr + k.pmdSize, v.end) > 0 || base + pages > v.pgoff + ((v.end - v.start) >>> k.geo.pageShift())) {
            return -1;
        }
        return addr;
    }

    /**
     * {@code retract_page_tables(mapping, pgoff)} ({@code mm/khugepaged.c}): for every VMA
     * mapping the range, without its mm's mmap_lock, detach the (empty) PTE table under
     * pmd_lock + PTE lock, flush, {@code mm_dec_nr_ptes} and {@code pte_free_defer}. Holding
     * i_mmap keeps the VMAs (and so their upper tables) alive; the caller's folio lock keeps
     * faults from refilling the tables, so no {@code pmd_same} check is needed.
     */
    static int retractPageTables(Kernel k, Shmem file, long base) {
        int n = 0;
        file.lockIMmap();
        try {
            for (Shmem.Mapping m : file.mappings()) {
                Vma v = m.vma();
                long addr = fileAddr(k, v, base);
                if (addr == -1 || v.anonVma != null || m.process().exited()) {
                    continue;
                }
                PageDesc pmdTable = k.installer.lookup(m.process().mm, addr, k.pmdLevel);
                if (pmdTable == null) {
                    continue; // no page table at the pmd
                }
                Retraction.Result r = new Retraction(k.pt).retract(m.process().mm, pmdTable, k.geo.index(k.pmdLevel, addr), null, false,
                        () -> k.flushTlbRange(m.process().mm, addr, addr + k.pmdSize));
                if (r == Retraction.Result.RETRACTED) {
                    n++;
                }
            }
        } finally {
            file.unlockIMmap();
        }
        return n;
    }
}
