package ptlab.mm;

import ptlab.arch.Level;
import ptlab.arch.PageProt;
import ptlab.cpu.SpinLock;
import ptlab.pgtable.PageTables;
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
        for (long x = addr; Long.compareUnsigned(x, end) < 0; x += page) {
            Errno e = fault(p, x & -page, write);
            if (!e.ok()) {
                return e;
            }
            if (x + page < x) {
                break;
            }
        }
        return Errno.OK;
    }

    /** One access to the page at {@code va}: nothing if it is already mapped with enough rights. */
    static Errno fault(Process p, long va, boolean write) {
        Kernel k = p.k;
        Vma v = p.vmaAt(va);
        if (v == null || !v.accessible() || (write && !v.has(Vma.WRITE))) {
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
        Kernel k = p.k;
        PageDesc pmdTable = k.installer.walkAlloc(p.mm, va, k.pmdLevel, null);
        if (pmdTable == null) {
            throw new IllegalStateException("huge entry above PMD level at 0x" + Long.toHexString(va));
        }
        int pmdIdx = k.geo.index(k.pmdLevel, va);
        long pmd = PageTables.read(pmdTable, pmdIdx);
        if (k.fmt.isNone(pmd) && Thp.faultHuge(p, v, va, write, pmdTable, pmdIdx)) {
            return;
        }
        pmd = PageTables.read(pmdTable, pmdIdx);
        if (k.fmt.isLeaf(k.pmdLevel, pmd)) {
            if (!Thp.hugeWriteFault(p, v, va, write, pmdTable, pmdIdx)) {
                return;
            }
            pmd = PageTables.read(pmdTable, pmdIdx);
        }
        PageDesc pte;
        if (k.fmt.isTable(k.pmdLevel, pmd)) {
            pte = k.pt.child(k.pmdLevel, pmd);
        } else {
            pte = k.installer.install(p.mm, pmdTable, pmdIdx, k.pmdLevel, Level.PTE, null);
        }
        ptePage(p, v, va, write, pte);
    }

    private static void ptePage(Process p, Vma v, long va, boolean write, PageDesc pteTable) {
        Kernel k = p.k;
        int idx = k.geo.index(Level.PTE, va);
        SpinLock ptl = k.pt.pteLockptr(p.mm, pteTable);
        // Allocate before taking the lock (the allocation may sleep).
        long newPfn = -1;
        long cur = PageTables.read(pteTable, idx);
        boolean needPage = v.isAnonymous() && write && (k.fmt.isNone(cur) || isZeroPte(k, cur) || sharedAnon(k, cur));
        if (needPage) {
            v.anonVmaPrepare();
            AllocResult r = k.alloc.allocate(0, Gfp.HIGHUSER, "do_anonymous_page");
            newPfn = r.pfnOrThrow();
        }
        // shmem: __do_fault gets (and may allocate) the page cache folio before finish_fault locks.
        long shmemPfn = v.isAnonymous() ? -1 : v.shmem.getPage(v.pgoff + ((va - v.start) >>> k.geo.pageShift()));
        ptl.lock();
        try {
            cur = PageTables.read(pteTable, idx);
            long pa;
            boolean writable;
            if (!v.isAnonymous()) {
                if (!k.fmt.isNone(cur) && (!write || k.fmt.isWrite(cur))) {
                    return;
                }
                long pfn = shmemPfn;
                if (k.fmt.isNone(cur)) {
                    Pages.get(k, pfn);
                }
                pa = pfn << k.geo.pageShift();
                writable = write;
            } else if (k.fmt.isNone(cur)) {
                if (!write) {
                    pa = k.zeroPfn << k.geo.pageShift();
                    writable = false;
                } else {
                    pa = newPfn << k.geo.pageShift();
                    newPfn = -1;
                    writable = true;
                }
            } else {
                if (!write || k.fmt.isWrite(cur)) {
                    return; // already mapped with enough rights (A/D aside)
                }
                long oldPfn = k.fmt.outputAddress(Level.PTE, cur) >>> k.geo.pageShift();
                if (newPfn >= 0) {
                    // do_wp_page: copy on write (zero page, or a page still shared).
                    Pages.put(k, oldPfn);
                    pa = newPfn << k.geo.pageShift();
                    newPfn = -1;
                } else {
                    pa = k.fmt.outputAddress(Level.PTE, cur); // reuse: we are the only user
                }
                writable = true;
                // ptep_clear_flush: clear, flush, then set, so no CPU can refill the old translation.
                ptlab.phys.Words.getAndSet(pteTable.words(), idx, 0L);
                k.flushTlbRange(p.mm, va & -k.geo.pageSize(), (va & -k.geo.pageSize()) + k.geo.pageSize());
            }
            PageProt prot = PageProt.user(v.has(Vma.READ), writable, v.has(Vma.EXEC)).withDirty(writable);
            PageTables.write(pteTable, idx, k.fmt.mkLeaf(Level.PTE, pa, prot));
        } finally {
            ptl.unlock();
            if (newPfn >= 0) {
                k.alloc.free(newPfn, 0); // raced or not needed
            }
        }
    }

    static boolean isZeroPte(Kernel k, long pte) {
        return k.fmt.isPresent(pte) && k.isZeroPfn(k.fmt.outputAddress(Level.PTE, pte) >>> k.geo.pageShift());
    }

    /** A present PTE whose page another mapping still references (after fork): COW needs a copy. */
    private static boolean sharedAnon(Kernel k, long pte) {
        if (!k.fmt.isPresent(pte) || k.fmt.isWrite(pte)) {
            return false;
        }
        long pfn = k.fmt.outputAddress(Level.PTE, pte) >>> k.geo.pageShift();
        long head = k.alloc.memory().compoundHead(pfn);
        return head >= 0 && k.alloc.memory().refcount(head) > 1 && k.alloc.memory().orderOf(head) == 0;
    }
}
