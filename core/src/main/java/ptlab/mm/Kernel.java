package ptlab.mm;

import java.util.concurrent.atomic.AtomicLong;
import ptlab.arch.Geometry;
import ptlab.arch.Level;
import ptlab.arch.PteFormat;
import ptlab.cpu.ViolationLog;
import ptlab.mmu.Mmu;
import ptlab.pgtable.Mm;
import ptlab.pgtable.Installer;
import ptlab.pgtable.KernelConfig;
import ptlab.pgtable.PageTables;
import ptlab.phys.BuddyAllocator;
import ptlab.phys.Gfp;
import ptlab.walk.Walker;

/**
 * A simulated machine's memory-management core: the page tables, the walker, the zero pages,
 * and the processes created on it. Entry point of the library for address-space work.
 *
 * <p>Threads: a machine and its processes may be used from any number of threads at once, as
 * CPUs use a kernel: each process's calls serialize on its {@code mmap_lock}, page tables on
 * their ptlocks, and the allocator, RCU and the MMU take their own locks. The audits
 * ({@link #auditPageRefs}, {@link Mmu#audit}, {@code ptlab.check.Checker}) read without locks
 * and need a quiescent machine: no call in flight on any thread.
 */
public final class Kernel {
    final KernelConfig config;
    final ViolationLog log;
    final PageTables pt;
    final Walker walker;
    final Installer installer;
    final Geometry geo;
    final PteFormat fmt;
    final BuddyAllocator alloc;
    /** The run-time level holding PMD entries, and the size one of them maps (HPAGE_PMD_SIZE). */
    final Level pmdLevel;
    final long pmdSize;
    final int hugeOrder;
    final boolean thpSupported;
    final long zeroPfn;
    /** Allocated on first use, like {@code mm_get_huge_zero_folio}. */
    private long hugeZeroPfn = -1;
    final long taskSize;
    /** x86 with protection keys: a read of an execute-only VMA faults ({@link ptlab.pgtable.VmSettings#x86Pku}). */
    final boolean execOnlyReadFaults;

    /** TASK_SIZE: the end of the user address space (the last page below the hole is unmapped, as on x86). */
    public long taskSize() {
        return taskSize;
    }
    final AtomicLong tlbFlushes = new AtomicLong();
    /** The software MMU: every flush below goes through it (additive: the counter is unchanged). */
    final Mmu mmu;
    private int nextPid = 1;
    /** The live processes ({@code for_each_process}): created by newProcess, gone at exit. */
    private final java.util.Set<Process> processes = java.util.concurrent.ConcurrentHashMap.newKeySet();

    public Kernel(KernelConfig config) {
        this(config, new ViolationLog(false));
    }

    public Kernel(KernelConfig config, ViolationLog log) {
        this.config = config;
        this.log = log;
        this.pt = new PageTables(config, log);
        this.walker = new Walker(pt);
        this.installer = walker.installer();
        this.geo = pt.geometry();
        this.fmt = pt.format();
        this.alloc = pt.allocator();
        this.pmdLevel = geo.holder(Level.PMD);
        this.pmdSize = geo.entrySize(Level.PMD);
        this.hugeOrder = Long.numberOfTrailingZeros(pmdSize) - geo.pageShift();
        this.thpSupported = hugeOrder <= BuddyAllocator.MAX_ORDER && geo.leafAllowed(pmdLevel) && pmdLevel != Level.PTE;
        this.zeroPfn = alloc.allocate(0, Gfp.KERNEL.zeroed(), "empty_zero_page").pfnOrThrow();
        this.taskSize = config.arch().userTop() - geo.pageSize();
        this.execOnlyReadFaults = config.vm().x86Pku() && fmt instanceof ptlab.arch.X86Format;
        this.mmu = new Mmu(pt);
    }

    /** The software MMU of this machine (per-CPU TLBs, shootdown, gather, stale-TLB audit). */
    public Mmu mmu() {
        return mmu;
    }

    /** The configuration this machine was built with (architecture, RAM, THP mode, sysctls). */
    public KernelConfig config() {
        return config;
    }

    /** The page-table core of this machine (tables, accounting, init_mm, RCU); shared by every process. */
    public PageTables pageTables() {
        return pt;
    }

    /** The on-demand table installer ({@code pte_alloc} and friends; {@code lookup} for walks). */
    public ptlab.pgtable.Installer installer() {
        return installer;
    }

    /** The page-table walk engine the mm operations use (walk_page_range with visitors). */
    public Walker walker() {
        return walker;
    }

    /** Where runtime checks and the audits record violations; the invariant checker reports them. */
    public ViolationLog log() {
        return log;
    }

    /** TLB flush requests issued by mm operations. */
    public long tlbFlushes() {
        return tlbFlushes.get();
    }

    /** Told of every user page the kernel zeroes or copies; {@link PageContents#NONE} until set. */
    volatile PageContents contents = PageContents.NONE;

    /**
     * Registers what keeps the bytes of user pages (an emulator's guest memory): from now on it
     * is told of every page the kernel zeroes or copies ({@link PageContents}), and at once of
     * the zero pages allocated so far ({@code empty_zero_page}, the huge zero page), which
     * read-only mappings share. {@code null} goes back to {@link PageContents#NONE}.
     */
    public synchronized void setPageContents(PageContents c) {
        contents = c == null ? PageContents.NONE : c;
        contents.clear(zeroPfn, 0, "empty_zero_page");
        if (hugeZeroPfn >= 0) {
            contents.clear(hugeZeroPfn, hugeOrder, "huge_zero_folio");
        }
    }

    synchronized long hugeZeroPfn() {
        if (hugeZeroPfn < 0) {
            hugeZeroPfn = alloc.allocate(hugeOrder, Gfp.KERNEL.zeroed(), "huge_zero_folio").pfnOrThrow();
            contents.clear(hugeZeroPfn, hugeOrder, "huge_zero_folio"); // __GFP_ZERO, before any PMD maps it
        }
        return hugeZeroPfn;
    }

    boolean isZeroPfn(long pfn) {
        return pfn == zeroPfn || (hugeZeroPfn >= 0 && pfn >= hugeZeroPfn && pfn < hugeZeroPfn + (1L << hugeOrder));
    }

    /** A new process with an empty user address space. */
    public Process newProcess(String name) {
        int pid;
        synchronized (this) {
            pid = nextPid++;
        }
        Process p = new Process(this, name == null ? "mm" + pid : name);
        processes.add(p);
        return p;
    }

    /** Process.exit: the process leaves the task list. */
    void exited(Process p) {
        processes.remove(p);
    }

    /** The live processes, in no particular order. */
    public java.util.List<Process> processes() {
        return new java.util.ArrayList<>(processes);
    }

    /**
     * The data-folio reference audit: every data folio's reference count equals its mappings
     * in live processes' VMAs plus its page-cache reference, no mapping points at a free
     * frame or a table, and no data folio is allocated with nothing holding it (a leak). The
     * violations (kind {@code page-ref}) are recorded in {@link #log()}, where the invariant
     * checker reports them, and returned. Call it at a quiescent point only: no operation in
     * flight on any process (as the checker). See {@link PageRefAudit}.
     */
    public java.util.List<ptlab.cpu.Violation> auditPageRefs() {
        java.util.List<ptlab.cpu.Violation> out = PageRefAudit.run(this, processes());
        for (ptlab.cpu.Violation v : out) {
            log.record(v);
        }
        return out;
    }

    /**
     * {@code __vm_enough_memory} with {@code vm.overcommit_memory = 0} (OVERCOMMIT_GUESS, the
     * default): a single charge of more pages than {@code totalram_pages() + total_swap_pages}
     * fails ({@link ptlab.pgtable.VmSettings#commitLimitBytes}, or the simulated RAM); charges
     * are not summed.
     */
    boolean vmEnoughMemory(long pages) {
        long limit = config.vm().commitLimitBytes() != 0 ? config.vm().commitLimitBytes() : config.ramBytes();
        return Long.compareUnsigned(pages, limit >>> geo.pageShift()) <= 0;
    }

    /** {@code flush_tlb_range(vma, start, end)}: counted, then shot down through the MMU. */
    void flushTlbRange(Mm mm, long start, long end) {
        tlbFlushes.incrementAndGet();
        ptlab.events.Tracepoints.tlbFlush("range", mm, start, end, 0);
        mmu.flushRange(mm, start, end);
    }

    /** {@code flush_tlb_mm}: where the caller does not know the address (THP paths without one). */
    void flushTlbMm(Mm mm) {
        tlbFlushes.incrementAndGet();
        ptlab.events.Tracepoints.tlbFlush("mm", mm, 0, 0, 0);
        mmu.flushMm(mm);
    }

    /** A flush the caller performs through a {@link ptlab.mmu.TlbGather}: only counted here. */
    void countFlush() {
        tlbFlushes.incrementAndGet();
        ptlab.events.Tracepoints.tlbFlush("mm", null, 0, 0, 0);
    }
}
