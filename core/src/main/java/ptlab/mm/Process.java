package ptlab.mm;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import ptlab.pgtable.Mm;
import ptlab.pgtable.MmKind;
import ptlab.phys.AllocResult;
import ptlab.phys.OutOfMemoryException;

/**
 * A user process's address space: the {@link Mm} (page tables) plus the VMA tree, and the
 * system calls that change them: {@code mmap} (MAP_FIXED_NOREPLACE), {@code munmap},
 * {@code mprotect}, {@code madvise}, page faults ({@link #touch}), {@code fork} and exit.
 * Each call takes {@code mmap_lock} for write (faults for read), as Linux does.
 *
 * <p>Threads: any thread may call, calls on one process serialize on its {@code mmap_lock}.
 * A simulated CPU's thread may call too, e.g. an emulator's vCPU handling a translation
 * fault with {@link #touch}: the CPU goes offline for the call ({@link ptlab.mmu.CpuMmu#leave}),
 * so that another thread's flush under the lock the call waits for does not wait for it, and
 * its next translation brings it back online.
 */
/*
 * Implementation notes.
 *
 * VMAs live in a TreeMap keyed by start. Splits go through splitAt(), which first splits a huge
 * PMD straddling the new boundary (vma_adjust_trans_huge); flag changes end with tryMerge(),
 * the vma_merge rules ptlab needs: equal flags, both anonymous private (or the same shmem file
 * at contiguous offsets), and compatible anon_vmas (equal, or one of them none).
 *
 * Page-table work is delegated: Faults (touch), Zap (unmap_page_range / zap_page_range_single
 * with PT reclaim), FreePgtables (free_pgd_range), Protect (change_protection), Thp (huge
 * PMDs: fault, split, zap, collapse), ForkCopy (copy_page_range).
 */
public final class Process {
    final Kernel k;
    final Mm mm;
    final TreeMap<Long, Vma> vmas = new TreeMap<>();
    private final long page;
    private final int pageShift;
    private volatile boolean exited;

    Process(Kernel k, String name) {
        this.k = k;
        this.mm = k.pt.newMm(name, MmKind.USER);
        this.page = k.geo.pageSize();
        this.pageShift = k.geo.pageShift();
    }

    public Mm mm() {
        return mm;
    }

    /** The process's name (its mm's), as messages and test reports show it. */
    @Override
    public String toString() {
        return mm.name();
    }

    public Kernel kernel() {
        return k;
    }

    /** {@code VmPTE} in bytes. */
    public long vmPteBytes() {
        return mm.pgtablesBytes();
    }

    /** A snapshot of the VMAs in address order (the caller excludes concurrent changes, e.g. single-threaded use). */
    public List<Vma> vmas() {
        return new ArrayList<>(vmas.values());
    }

    /** A snapshot of the VMAs taken under the mmap read lock: safe beside other CPUs changing them. */
    public List<Vma> vmasSnapshot() {
        mm.mmapLock().readLock();
        try {
            return new ArrayList<>(vmas.values());
        } finally {
            mm.mmapLock().readUnlock();
        }
    }

    /* ---- VMA tree ---- */

    /** {@code find_vma}: the first VMA with {@code end > addr}. */
    Vma findVma(long addr) {
        if (addr < 0) {
            return null; // above 2^63 unsigned: no VMA there (the map's keys compare signed)
        }
        Map.Entry<Long, Vma> e = vmas.floorEntry(addr);
        if (e != null && Long.compareUnsigned(e.getValue().end, addr) > 0) {
            return e.getValue();
        }
        Map.Entry<Long, Vma> h = vmas.higherEntry(addr);
        return h == null ? null : h.getValue();
    }

    /** The VMA containing {@code addr}, or {@code null}. */
    Vma vmaAt(long addr) {
        if (addr < 0) {
            return null; // as in findVma
        }
        Map.Entry<Long, Vma> e = vmas.floorEntry(addr);
        return e != null && e.getValue().end > addr ? e.getValue() : null;
    }

    Vma prevOf(Vma v) {
        Map.Entry<Long, Vma> e = vmas.lowerEntry(v.start);
        return e == null ? null : e.getValue();
    }

    Vma nextOf(Vma v) {
        Map.Entry<Long, Vma> e = vmas.higherEntry(v.start);
        return e == null ? null : e.getValue();
    }

    /**
     * {@code vma_modify}'s splits before {@code [start, end)} of {@code v} gets {@code newFlags}:
     * a piece at an end of {@code v} that merges into the neighbour there only moves the boundary
     * (no map-count check); otherwise {@code split_vma} at the start, then at the end, each refused
     * at the limit (an earlier split stays). Returns false for the caller's ENOMEM.
     */
    private boolean splitForChange(Vma v, long start, long end, int newFlags) {
        if (mergesIntoNeighbour(v, start, end, newFlags)) {
            splitAt(start);
            splitAt(end);
            return true;
        }
        return splitChecked(start) && splitChecked(end);
    }

    /**
     * {@code split_vma}: {@link #splitAt} unless the mm already holds {@code vm.max_map_count}
     * VMAs and the split is needed; returns false (the caller's ENOMEM) then.
     */
    private boolean splitChecked(long at) {
        Vma v = vmaAt(at);
        if (v != null && v.start != at && vmas.size() >= k.config.vm().maxMapCount()) {
            return false;
        }
        splitAt(at);
        return true;
    }

    /**
     * Whether giving {@code [start, end)} of {@code v} the flags {@code newFlags} only moves the
     * boundary with a neighbour ({@code vma_merge_existing_range}): the piece is at one end of
     * {@code v} and the neighbour at that end would merge with it. The VMA count does not grow then.
     */
    private boolean mergesIntoNeighbour(Vma v, long start, long end, int newFlags) {
        Vma piece = v.copyRange(start, end, pageShift);
        piece.flags = newFlags;
        if (start == v.start && end != v.end) {
            Vma prev = prevOf(v);
            return prev != null && mergeable(prev, piece);
        }
        if (end == v.end && start != v.start) {
            Vma next = nextOf(v);
            return next != null && mergeable(piece, next);
        }
        return false;
    }

    /** Makes {@code at} a VMA boundary if a VMA strictly contains it ({@code __split_vma}). */
    void splitAt(long at) {
        Vma v = vmaAt(at);
        if (v == null || v.start == at) {
            return;
        }
        Thp.splitIfNeeded(this, v, at);
        Vma hi = v.copyRange(at, v.end, pageShift);
        if (hi.shmem != null) {
            hi.shmem.lockIMmap(); // retract_page_tables reads the bounds of i_mmap's VMAs
            try {
                v.end = at;
                hi.shmem.link(this, hi);
            } finally {
                hi.shmem.unlockIMmap();
            }
            hi.shmem.addUser();
        } else {
            v.end = at;
        }
        vmas.put(at, hi);
    }

    private boolean mergeable(Vma a, Vma b) {
        if (a.end != b.start || a.flags != b.flags) {
            return false;
        }
        if (a.shmem != b.shmem) {
            return false;
        }
        if (a.shmem != null && b.pgoff != a.pgoff + ((a.end - a.start) >>> pageShift)) {
            return false;
        }
        return a.anonVma == null || b.anonVma == null || a.anonVma == b.anonVma;
    }

    /**
     * {@code find_mergeable_anon_vma}: the anon_vma of the next, else the previous VMA, if that
     * VMA is adjacent, maps the same file (none) at contiguous offsets, differs only in its
     * read/write/exec flags ({@code anon_vma_compatible}) and has a singular anon_vma_chain.
     */
    Vma.AnonVma findMergeableAnonVma(Vma v) {
        Vma next = nextOf(v);
        if (next != null && anonVmaCompatible(v, next) && !next.chainNotSingular && next.anonVma != null) {
            return next.anonVma;
        }
        Vma prev = prevOf(v);
        if (prev != null && anonVmaCompatible(prev, v) && !prev.chainNotSingular && prev.anonVma != null) {
            return prev.anonVma;
        }
        return null;
    }

    private boolean anonVmaCompatible(Vma a, Vma b) {
        return a.end == b.start && a.shmem == b.shmem && ((a.flags ^ b.flags) & ~(Vma.READ | Vma.WRITE | Vma.EXEC)) == 0
                && b.pgoff == a.pgoff + ((b.start - a.start) >>> pageShift);
    }

    /** {@code vma_merge}: merges {@code v} with its neighbours where allowed; returns the survivor. */
    Vma tryMerge(Vma v) {
        if (v.shmem == null) {
            return tryMergeLocked(v);
        }
        v.shmem.lockIMmap();
        try {
            return tryMergeLocked(v);
        } finally {
            v.shmem.unlockIMmap();
        }
    }

    private Vma tryMergeLocked(Vma v) {
        Vma prev = prevOf(v);
        if (prev != null && mergeable(prev, v)) {
            prev.end = v.end;
            if (prev.anonVma == null) {
                prev.anonVma = v.anonVma;
            }
            vmas.remove(v.start);
            unlinkFile(v);
            dropShmemUser(v);
            v = prev;
        }
        Vma next = nextOf(v);
        if (next != null && mergeable(v, next)) {
            v.end = next.end;
            if (v.anonVma == null) {
                v.anonVma = next.anonVma;
            }
            vmas.remove(next.start);
            unlinkFile(next);
            dropShmemUser(next);
        }
        return v;
    }

    /** {@code unlink_file_vma} for a VMA whose file's i_mmap lock the caller holds. */
    private static void unlinkFile(Vma v) {
        if (v.shmem != null) {
            v.shmem.unlink(v);
        }
    }

    /** Unlinks detached VMAs from their files' i_mmap (free_pgtables does it before freeing their tables). */
    private static void unlinkFiles(List<Vma> gone) {
        for (Vma v : gone) {
            if (v.shmem != null) {
                v.shmem.lockIMmap();
                try {
                    v.shmem.unlink(v);
                } finally {
                    v.shmem.unlockIMmap();
                }
            }
        }
    }

    private void dropShmemUser(Vma v) {
        if (v.shmem != null && v.shmem.dropUser() == 0) {
            v.shmem.release();
        }
    }

    /** VMAs intersecting {@code [start, end)}, in order. */
    List<Vma> intersecting(long start, long end) {
        List<Vma> out = new ArrayList<>();
        Vma v = findVma(start);
        while (v != null && Long.compareUnsigned(v.start, end) < 0) {
            out.add(v);
            v = nextOf(v);
        }
        return out;
    }

    private static int vmFlags(int prot, boolean shared) {
        int f = 0;
        if ((prot & 1) != 0) {
            f |= Vma.READ;
        }
        if ((prot & 2) != 0) {
            f |= Vma.WRITE;
        }
        if ((prot & 4) != 0) {
            f |= Vma.EXEC;
        }
        if (shared) {
            f |= Vma.SHARED;
        } else if ((prot & 2) != 0) {
            f |= Vma.ACCOUNT;
        }
        return f;
    }

    private long pageAlign(long len) {
        return (len + page - 1) & -page;
    }

    /* ---- system calls ---- */

    /**
     * {@code mmap(addr, len, prot, MAP_FIXED_NOREPLACE | MAP_ANONYMOUS | (shared ? MAP_SHARED : MAP_PRIVATE))}.
     *
     * @param prot PROT_READ=1 | PROT_WRITE=2 | PROT_EXEC=4
     */
    public Errno mmap(long addr, long len, int prot, boolean shared) {
        enter();
        if (len == 0) {
            return Errno.EINVAL;
        }
        long alen = pageAlign(len);
        if (alen == 0 || Long.compareUnsigned(alen, len) < 0) {
            return Errno.ENOMEM;
        }
        long end = addr + alen;
        mm.mmapLock().writeLock(); // vm_mmap_pgoff: do_mmap runs under mmap_write_lock
        try {
            checkAlive(); // again under mmap_lock: an exit() may have run while this call waited for it
            if (vmas.size() > k.config.vm().maxMapCount()) {
                return Errno.ENOMEM; // do_mmap: map_count > sysctl_max_map_count, before __get_unmapped_area
            }
            // __get_unmapped_area, in its order: the range's end, then alignment, then security_mmap_addr.
            if (Long.compareUnsigned(alen, k.taskSize) > 0 || Long.compareUnsigned(addr, k.taskSize - alen) > 0) {
                return Errno.ENOMEM;
            }
            if ((addr & (page - 1)) != 0) {
                return Errno.EINVAL;
            }
            if (Long.compareUnsigned(addr, k.config.vm().mmapMinAddr()) < 0) {
                return Errno.EPERM;
            }
            if (!intersecting(addr, end).isEmpty()) {
                return Errno.EEXIST; // checked under the lock: two racing mmaps must not both insert
            }
            // mmap_region charges a private writable mapping (accountable_mapping), shmem_zero_setup
            // a shared one whatever its protection (shmem_acct_size).
            if ((shared || (prot & 2) != 0) && !k.vmEnoughMemory(alen >>> pageShift)) {
                return Errno.ENOMEM;
            }
            Shmem file = shared ? new Shmem(k, alen >>> pageShift) : null;
            Vma v = new Vma(addr, end, vmFlags(prot, shared), file, shared ? 0 : addr >>> pageShift);
            v.owner = this;
            if (file != null) {
                file.addUser();
                file.lockIMmap();
                try {
                    file.link(this, v);
                } finally {
                    file.unlockIMmap();
                }
            }
            vmas.put(addr, v);
            tryMerge(v);
        } finally {
            mm.mmapLock().writeUnlock();
        }
        return Errno.OK;
    }

    /** {@code munmap(addr, len)}: zap, then free page tables with the floor/ceiling rules. */
    public Errno munmap(long addr, long len) {
        enter();
        if ((addr & (page - 1)) != 0 || Long.compareUnsigned(addr, k.taskSize) > 0
                || Long.compareUnsigned(len, k.taskSize - addr) > 0) {
            return Errno.EINVAL;
        }
        long alen = pageAlign(len);
        if (alen == 0) {
            return Errno.EINVAL;
        }
        long end = addr + alen;
        mm.mmapLock().writeLock();
        try {
            checkAlive(); // again under mmap_lock: an exit() may have run while this call waited for it
            List<Vma> hit = intersecting(addr, end);
            if (hit.isEmpty()) {
                return Errno.OK;
            }
            // vms_gather_munmap_vmas: only a hole punched inside one VMA (two splits of it) must
            // not take the count over the limit; other splits may go just above it.
            Vma first = hit.get(0);
            if (Long.compareUnsigned(first.start, addr) < 0 && Long.compareUnsigned(end, first.end) < 0
                    && vmas.size() >= k.config.vm().maxMapCount()) {
                return Errno.ENOMEM;
            }
            splitAt(addr);
            splitAt(end);
            List<Vma> gone = intersecting(addr, end);
            Vma prev = prevOf(gone.get(0));
            Vma next = nextOf(gone.get(gone.size() - 1));
            for (Vma v : gone) {
                vmas.remove(v.start);
            }
            for (Vma v : gone) {
                Zap.range(this, v, v.start, v.end, false);
            }
            unlinkFiles(gone);
            FreePgtables.freeVmas(this, gone, prev == null ? 0 : prev.end, next == null ? 0 : next.start);
            for (Vma v : gone) {
                dropShmemUser(v);
            }
        } finally {
            mm.mmapLock().writeUnlock();
        }
        return Errno.OK;
    }

    /** {@code mprotect(addr, len, prot)}. */
    public Errno mprotect(long addr, long len, int prot) {
        enter();
        // do_mprotect_pkey, in its order. PROT_GROWSDOWN and PROT_GROWSUP are taken off the
        // protection (both at once: EINVAL); what is left must be READ|WRITE|EXEC|SEM
        // (arch_validate_prot), checked after the length; a grows bit is EINVAL once a VMA is
        // found, since no VMA here grows (no VM_GROWSDOWN stack is modelled).
        final int growsDown = 0x01000000;
        final int growsUp = 0x02000000;
        int grows = prot & (growsDown | growsUp);
        prot &= ~(growsDown | growsUp);
        if (grows == (growsDown | growsUp) || (addr & (page - 1)) != 0) {
            return Errno.EINVAL;
        }
        if (len == 0) {
            return Errno.OK;
        }
        long alen = pageAlign(len);
        long end = addr + alen;
        if (alen == 0 || Long.compareUnsigned(end, addr) <= 0) {
            return Errno.ENOMEM;
        }
        if ((prot & ~0xf) != 0) {
            return Errno.EINVAL;
        }
        mm.mmapLock().writeLock();
        try {
            checkAlive(); // again under mmap_lock: an exit() may have run while this call waited for it
            Vma first = findVma(addr); // vma_find(&vmi, end): the first VMA ending above addr, if it starts below end
            if (first == null || Long.compareUnsigned(first.start, end) >= 0) {
                return Errno.ENOMEM;
            }
            if ((grows & growsDown) != 0) {
                return Errno.EINVAL; // the VMA has no VM_GROWSDOWN
            }
            if (Long.compareUnsigned(first.start, addr) > 0) {
                return Errno.ENOMEM;
            }
            if (grows != 0) {
                return Errno.EINVAL; // no VM_GROWSUP
            }
            long tmp = addr;
            while (Long.compareUnsigned(tmp, end) < 0) {
                Vma v = vmaAt(tmp);
                if (v == null) {
                    return Errno.ENOMEM;
                }
                long segEnd = Long.compareUnsigned(v.end, end) < 0 ? v.end : end;
                int newFlags = (v.flags & ~(Vma.READ | Vma.WRITE | Vma.EXEC)) | (vmFlags(prot, v.has(Vma.SHARED)) & (Vma.READ
                        | Vma.WRITE | Vma.EXEC));
                if ((prot & 2) != 0 && !v.has(Vma.SHARED)) {
                    // mprotect_fixup: making a private VMA writable charges it, unless it already is.
                    if (!v.has(Vma.ACCOUNT) && !v.has(Vma.WRITE) && !k.vmEnoughMemory((segEnd - tmp) >>> pageShift)) {
                        return Errno.ENOMEM;
                    }
                    newFlags |= Vma.ACCOUNT;
                } else if ((prot & 2) == 0 && v.isAnonymous() && v.anonVma == null) {
                    // mprotect_fixup: an anonymous VMA that never had an anon_vma gives its
                    // commitment back when it turns read-only, so it can merge with its neighbours.
                    newFlags &= ~Vma.ACCOUNT;
                }
                if (newFlags != v.flags) {
                    if (!splitForChange(v, tmp, segEnd, newFlags)) {
                        return Errno.ENOMEM;
                    }
                    Vma seg = vmaAt(tmp);
                    seg.flags = newFlags;
                    Protect.range(this, seg, seg.start, seg.end);
                    tryMerge(seg);
                }
                tmp = segEnd;
            }
        } finally {
            mm.mmapLock().writeUnlock();
        }
        return Errno.OK;
    }

    /** {@code madvise(addr, len, advice)}: applied to the mapped parts; ENOMEM if the range had holes. */
    public Errno madvise(long addr, long len, Advice advice) {
        enter();
        if ((addr & (page - 1)) != 0) {
            return Errno.EINVAL;
        }
        long alen = pageAlign(len);
        if (len != 0 && alen == 0) {
            return Errno.EINVAL;
        }
        long end = addr + alen;
        if (Long.compareUnsigned(end, addr) < 0) {
            return Errno.EINVAL;
        }
        if (end == addr) {
            return Errno.OK;
        }
        boolean write = advice == Advice.HUGEPAGE || advice == Advice.NOHUGEPAGE;
        while (true) {
            if (write) {
                mm.mmapLock().writeLock();
            } else {
                mm.mmapLock().readLock();
            }
            // collapse_huge_page takes mmap_write_lock for an anonymous range: no fault, zap or
            // other collapse may touch the PMD and PTE table it reads and replaces (two CPUs
            // collapsing one range under the read lock deposited the same table twice). A shmem
            // range keeps the read lock, so its collapse still races faults as collapse_file does.
            if (advice == Advice.COLLAPSE && !write && anyAnonymous(addr, end)) {
                mm.mmapLock().readUnlock();
                write = true;
                continue;
            }
            break;
        }
        try {
            checkAlive(); // again under mmap_lock: an exit() may have run while this call waited for it
            Errno unmapped = Errno.OK;
            long start = addr;
            Vma v = findVma(start);
            while (true) {
                if (v == null) {
                    return Errno.ENOMEM;
                }
                if (Long.compareUnsigned(start, v.start) < 0) {
                    unmapped = Errno.ENOMEM;
                    start = v.start;
                    if (Long.compareUnsigned(start, end) >= 0) {
                        break;
                    }
                }
                long tmp = Long.compareUnsigned(end, v.end) < 0 ? end : v.end;
                Errno e = adviseOne(v, start, tmp, advice);
                if (!e.ok()) {
                    return e;
                }
                start = tmp;
                if (Long.compareUnsigned(start, end) >= 0) {
                    break;
                }
                v = findVma(start);
            }
            return unmapped;
        } finally {
            if (write) {
                mm.mmapLock().writeUnlock();
            } else {
                mm.mmapLock().readUnlock();
            }
        }
    }

    private boolean anyAnonymous(long start, long end) {
        for (Vma v : intersecting(start, end)) {
            if (v.isAnonymous()) {
                return true;
            }
        }
        return false;
    }

    private Errno adviseOne(Vma v, long start, long end, Advice advice) {
        switch (advice) {
            case DONTNEED:
                Zap.range(this, v, start, end, k.config.ptReclaim());
                return Errno.OK;
            case HUGEPAGE:
            case NOHUGEPAGE: {
                int nf = advice == Advice.HUGEPAGE ? (v.flags & ~Vma.NOHUGEPAGE) | Vma.HUGEPAGE
                        : (v.flags & ~Vma.HUGEPAGE) | Vma.NOHUGEPAGE;
                if (nf != v.flags) {
                    if (!splitForChange(v, start, end, nf)) {
                        return Errno.ENOMEM;
                    }
                    Vma seg = vmaAt(start);
                    seg.flags = nf;
                    tryMerge(seg);
                }
                return Errno.OK;
            }
            case COLLAPSE:
                return Thp.madviseCollapse(this, v, start, end);
            default:
                throw new IllegalArgumentException(advice.toString());
        }
    }

    /**
     * Accesses one byte of every page from {@code addr} to {@code addr + len} in order, faulting
     * pages in ({@code handle_mm_fault}); stops at the first page whose access faults
     * ({@code EFAULT}: no VMA there, or one that does not allow the access) or whose fault
     * cannot allocate a page or table ({@code ENOMEM}, {@code VM_FAULT_OOM}; the pages before it
     * stay mapped). A range that wraps past 2^64 runs to the top, so it ends in {@code EFAULT}.
     */
    public Errno touch(long addr, long len, boolean write) {
        enter();
        mm.mmapLock().readLock();
        try {
            checkAlive(); // again under mmap_lock: an exit() may have run while this call waited for it
            return Faults.touch(this, addr, len, write);
        } finally {
            mm.mmapLock().readUnlock();
        }
    }

    /**
     * {@code fork()}: a child with copies of the VMAs and of the page tables of those that need them.
     *
     * @throws OutOfMemoryException fork's ENOMEM: a VM_ACCOUNT VMA larger than the machine's RAM
     *     (the overcommit guess, nothing made), or a table that could not be allocated (the
     *     partial child has been torn down)
     */
    public Process fork(String name) {
        enter();
        Process child = k.newProcess(name);
        boolean copied = false;
        mm.mmapLock().writeLock();
        try {
            checkAlive(); // again under mmap_lock: an exit() may have run while this call waited for it
            for (Vma v : vmas.values()) {
                // dup_mmap charges every VM_ACCOUNT VMA of the parent, under the same write lock
                // as the copy (a VMA that a racing mmap merged larger is charged at its new size).
                if (v.has(Vma.ACCOUNT) && !k.vmEnoughMemory((v.end - v.start) >>> pageShift)) {
                    throw new OutOfMemoryException(new AllocResult.Failed("dup_mmap: vm_enough_memory of " + v, 0, false));
                }
            }
            for (Vma v : vmas.values()) {
                Vma c = v.copyRange(v.start, v.end, pageShift);
                c.owner = child;
                if (v.anonVma != null) {
                    c.anonVma = new Vma.AnonVma();
                    c.chainNotSingular = true; // anon_vma_fork: the child's chain also links the parent's
                }
                if (c.shmem != null) {
                    c.shmem.addUser();
                    c.shmem.lockIMmap();
                    try {
                        c.shmem.link(child, c);
                    } finally {
                        c.shmem.unlockIMmap();
                    }
                }
                child.vmas.put(c.start, c);
                if (v.anonVma != null) {
                    ForkCopy.copy(this, child, v);
                }
            }
            copied = true;
        } finally {
            mm.mmapLock().writeUnlock();
            if (!copied) {
                // dup_mmap failed (ENOMEM from a table or deposit allocation): the half-built
                // child is torn down as mmput does it, so no table, reference or VMA is left.
                // The parent keeps the write protection copy_page_range gave its PTEs (COW).
                child.exit();
            }
        }
        return child;
    }

    /** {@code exit_mmap}: zap every VMA, free every table, free the PGD. */
    public void exit() {
        enter();
        mm.mmapLock().writeLock();
        try {
            checkAlive(); // again under mmap_lock: another exit() may have run while this one waited for it
            exited = true; // under the lock: a call that waits for it sees the exit, not a dying mm
            List<Vma> all = new ArrayList<>(vmas.values());
            vmas.clear();
            for (Vma v : all) {
                Zap.range(this, v, v.start, v.end, false);
            }
            unlinkFiles(all);
            FreePgtables.freeVmas(this, all, 0, 0);
            for (Vma v : all) {
                dropShmemUser(v);
            }
        } finally {
            mm.mmapLock().writeUnlock();
        }
        k.pt.destroyMm(mm);
        k.exited(this);
    }

    public boolean exited() {
        return exited;
    }

    /**
     * The entry of every call: the process must be alive, and a calling thread that is one of
     * the machine's CPUs goes offline first ({@link ptlab.mmu.Mmu#leaveCallingCpu}), since the
     * call may wait for a lock whose holder is flushing and waits for that CPU's ack.
     */
    private void enter() {
        checkAlive();
        k.mmu.leaveCallingCpu();
    }

    private void checkAlive() {
        if (exited) {
            throw new IllegalStateException(mm + " has exited");
        }
    }
}
