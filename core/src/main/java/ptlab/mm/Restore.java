package ptlab.mm;

import ptlab.arch.Level;
import ptlab.arch.PageProt;
import ptlab.cpu.SpinLock;
import ptlab.pgtable.PageTables;
import ptlab.phys.Gfp;
import ptlab.phys.OutOfMemoryException;
import ptlab.phys.PageDesc;

/**
 * Rebuilding an address space recorded elsewhere (a {@code /proc/PID} snapshot), as CRIU's
 * restore does from user space: VMAs exactly as recorded (no merging), then each recorded
 * entry made real through the fault and THP paths: a present page is a fault, a swapped page
 * or PTE marker a non-present entry written under the PTE lock, a PMD-mapped THP the huge
 * fault with its deposited PTE table, a file or hugetlb PMD mapping a huge PMD with no deposit.
 */
/*
 * Implementation notes.
 *
 * Pages are real frames: a present anonymous page is a frame from the buddy allocator (or the
 * zero page for a read fault), a file page comes from the VMA's page cache (a Shmem object per
 * file-backed VMA, indexed by the recorded file offset), so exit() releases everything through
 * the ordinary zap. Faults go through Faults.fault when the VMA allows the access; a present
 * page in a PROT_NONE VMA (protection changed after the fault) is written as a PROT_NONE leaf.
 * The kernel this runs on should have THP off (ThpMode.NEVER) so faults never create huge
 * mappings of their own: every huge mapping here is one the snapshot recorded.
 */
public final class Restore {
    private Restore() {}

    /** What backs a VMA: anonymous memory, or a file (page cache; also hugetlbfs and shmem). */
    public enum Backing {
        ANON,
        FILE
    }

    /**
     * Inserts the VMA {@code [start, end)} as recorded. {@code pgoff} is the file offset in pages
     * (ignored for anonymous private memory, whose pgoff is {@code start >> PAGE_SHIFT}).
     *
     * @throws IllegalArgumentException if the range is misaligned, empty, outside user space or
     *                                  overlaps a VMA already restored
     */
    public static Vma vma(Process p, long start, long end, int flags, Backing backing, long pgoff) {
        Kernel k = p.k;
        long page = k.geo.pageSize();
        if ((start & (page - 1)) != 0 || (end & (page - 1)) != 0 || Long.compareUnsigned(start, end) >= 0
                || Long.compareUnsigned(end, k.taskSize) > 0) {
            throw new IllegalArgumentException(String.format("VMA %x-%x is misaligned, empty or above TASK_SIZE", start, end));
        }
        if (!p.intersecting(start, end).isEmpty()) {
            throw new IllegalArgumentException(String.format("VMA %x-%x overlaps %s", start, end, p.intersecting(start, end).get(0)));
        }
        int pageShift = k.geo.pageShift();
        Shmem file = backing == Backing.FILE ? new Shmem(k, (end - start) >>> pageShift) : null;
        Vma v = new Vma(start, end, flags, file, file != null ? pgoff : start >>> pageShift);
        v.owner = p;
        if (file != null) {
            file.addUser();
            file.lockIMmap();
            try {
                file.link(p, v); // i_mmap: retract_page_tables finds every mapping of the file
            } finally {
                file.unlockIMmap();
            }
        }
        p.mm.mmapLock().writeLock();
        try {
            p.vmas.put(start, v);
        } finally {
            p.mm.mmapLock().writeUnlock();
        }
        return v;
    }

    /** A present base page at {@code va} (written if the VMA is writable). */
    public static void presentPage(Process p, Vma v, long va) {
        if (v.accessible()) {
            Errno e = Faults.fault(p, va, v.has(Vma.WRITE));
            if (e == Errno.ENOMEM) {
                throw new OutOfMemoryException(new ptlab.phys.AllocResult.Failed("restore fault", 0, false));
            }
            if (!e.ok()) {
                throw new IllegalStateException("restore fault at 0x" + Long.toHexString(va) + ": " + e);
            }
            return;
        }
        // A PROT_NONE VMA with a present page: the page was faulted before mprotect(PROT_NONE).
        Kernel k = p.k;
        long pfn = v.isAnonymous() ? k.alloc.allocate(0, Gfp.HIGHUSER, "restore_protnone").pfnOrThrow()
                : v.shmem.getPage(v.pgoff + ((va - v.start) >>> k.geo.pageShift()));
        if (!v.isAnonymous()) {
            Pages.get(k, pfn, "restore_protnone");
        }
        long word = k.fmt.mkLeaf(Level.PTE, pfn << k.geo.pageShift(), PageProt.USER_NONE);
        if (!writeNonFault(p, va, word)) {
            Pages.put(k, pfn, "restore_protnone");
        }
    }

    /**
     * A non-present, non-none PTE at {@code va} (a swap entry, or a PTE marker encoded as one):
     * {@code word} must satisfy {@code !isNone && !isPresent}.
     */
    public static void nonPresentEntry(Process p, long va, long word) {
        Kernel k = p.k;
        if (k.fmt.isNone(word) || k.fmt.isPresent(word)) {
            throw new IllegalArgumentException("not a non-present entry: 0x" + Long.toHexString(word));
        }
        writeNonFault(p, va, word);
    }

    /** Writes {@code word} into the none PTE for {@code va}, installing tables; false if the PTE was not none. */
    private static boolean writeNonFault(Process p, long va, long word) {
        Kernel k = p.k;
        PageDesc pte = pteTable(p, va);
        int idx = k.geo.index(Level.PTE, va);
        SpinLock ptl = k.pt.pteLockptr(p.mm, pte);
        ptl.lock();
        try {
            if (!k.fmt.isNone(PageTables.read(pte, idx))) {
                return false;
            }
            PageTables.write(pte, idx, word);
            return true;
        } finally {
            ptl.unlock();
        }
    }

    /** The PTE table for {@code va}: the {@code __handle_mm_fault} walk, then {@code pte_alloc}. */
    private static PageDesc pteTable(Process p, long va) {
        Kernel k = p.k;
        PageDesc pmdTable = k.installer.walkAlloc(p.mm, va, k.pmdLevel, null);
        if (pmdTable == null) {
            throw new IllegalStateException("huge entry above PMD level at 0x" + Long.toHexString(va));
        }
        int idx = k.geo.index(k.pmdLevel, va);
        long pmd = PageTables.read(pmdTable, idx);
        if (k.fmt.isTable(k.pmdLevel, pmd)) {
            return k.pt.child(k.pmdLevel, pmd);
        }
        if (!k.fmt.isNone(pmd)) {
            throw new IllegalStateException("huge PMD at 0x" + Long.toHexString(va) + " where a PTE entry was recorded");
        }
        return k.installer.install(p.mm, pmdTable, idx, k.pmdLevel, Level.PTE, null);
    }

    /** HPAGE_PMD_SIZE of this kernel, or 0 if it cannot map PMD leaves. */
    public static long pmdSize(Kernel k) {
        return k.thpSupported ? k.pmdSize : 0;
    }

    /**
     * A PMD-mapped huge page at the PMD-aligned {@code haddr}: for an anonymous VMA the THP fault
     * ({@code do_huge_pmd_anonymous_page}: a folio, a deposited PTE table counted in VmPTE, the
     * PMD); for a file VMA (page cache THP, shmem, hugetlb) the folio from the cache and a PMD
     * with no deposit. Returns false if the PMD was not none (nothing changed).
     */
    public static boolean hugePmd(Process p, Vma v, long haddr) {
        Kernel k = p.k;
        if (!k.thpSupported || (haddr & (k.pmdSize - 1)) != 0 || Long.compareUnsigned(haddr, v.start) < 0
                || Long.compareUnsigned(haddr + k.pmdSize, v.end) > 0) {
            throw new IllegalArgumentException("no huge PMD possible at 0x" + Long.toHexString(haddr) + " in " + v);
        }
        PageDesc pmdTable = k.installer.walkAlloc(p.mm, haddr, k.pmdLevel, null);
        int idx = k.geo.index(k.pmdLevel, haddr);
        boolean write = v.has(Vma.WRITE);
        PageProt prot = v.accessible() ? v.pageProt(write).withDirty(write) : PageProt.USER_NONE;
        if (!v.isAnonymous()) {
            long head = v.shmem.collapse(v.pgoff + ((haddr - v.start) >>> k.geo.pageShift()));
            return Thp.setPmd(p, pmdTable, idx, head, prot, null);
        }
        v.anonVmaPrepare();
        long folio = k.alloc.allocate(k.hugeOrder, Gfp.HIGHUSER, "vma_alloc_anon_folio_pmd").pfnOrThrow();
        PageDesc deposit;
        try {
            deposit = k.pt.allocTable(p.mm, p.mm, Level.PTE, "pte_alloc_one");
        } catch (OutOfMemoryException e) {
            k.alloc.free(folio, k.hugeOrder);
            throw e;
        }
        if (!Thp.setPmd(p, pmdTable, idx, folio, prot, deposit)) {
            k.pt.freeTable(deposit);
            k.alloc.free(folio, k.hugeOrder);
            return false;
        }
        return true;
    }
}
