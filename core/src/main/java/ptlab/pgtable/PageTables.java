package ptlab.pgtable;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import ptlab.arch.Architecture;
import ptlab.arch.Geometry;
import ptlab.arch.Level;
import ptlab.arch.PteFormat;
import ptlab.cpu.LockProtocolError;
import ptlab.cpu.SpinLock;
import ptlab.cpu.LockClass;
import ptlab.cpu.ViolationLog;
import ptlab.phys.AllocResult;
import ptlab.phys.BuddyAllocator;
import ptlab.phys.Gfp;
import ptlab.phys.OutOfMemoryException;
import ptlab.phys.PageDesc;
import ptlab.phys.PhysicalMemory;
import ptlab.phys.Words;
import ptlab.rcu.Rcu;

/**
 * Page-table pages of one simulated machine: allocation with the per-level constructor and
 * free with the destructor, split ptlocks, {@code NR_PAGETABLE} and per-mm accounting, and
 * the registry of address spaces ({@code init_mm}, user and special mms).
 *
 * <p>Kernel counterparts: {@code pagetable_alloc}/{@code pagetable_free},
 * {@code pagetable_{pte,pmd,pud,p4d,pgd}_ctor}, {@code pagetable_dtor},
 * {@code ptlock_init}/{@code ptlock_free}/{@code ptlock_alloc}, {@code pte_lockptr},
 * {@code pmd_lockptr}, {@code pud_lockptr} ({@code include/linux/mm.h},
 * {@code include/asm-generic/pgalloc.h}).
 */
/*
 * Implementation notes.
 *
 * Constructor rules (Linux 6.16+, seed 000): every level's ctor sets the PageTable type and
 * adds the table's pages to NR_PAGETABLE. The PTE ctor, and the PMD ctor when split PMD locks
 * exist, initialise a ptlock unless the mm is init_mm; a null mm (special allocators such as
 * arm64's pgd_pgtable_alloc_special_mm for efi_mm) is not init_mm, so it does get one. With
 * ALLOC_SPLIT_PTLOCKS the ptlock is allocated from a cache, which can fail: the ctor then
 * returns false and the page is freed with no dtor. With pre616Ctors the old rules apply:
 * kernel PTE tables skip the ctor altogether and PMD ctors always initialise a ptlock.
 *
 * init_mm's root is swapper_pg_dir: part of the kernel image, never constructed, never freed,
 * never counted in NR_PAGETABLE. It is backed by an ordinary frame marked reserved.
 */
public final class PageTables {
    private final KernelConfig config;
    private final Architecture arch;
    private final Geometry geo;
    private final PteFormat fmt;
    private final PhysicalMemory mem;
    private final BuddyAllocator alloc;
    private final ViolationLog log;
    private final PtStats stats = new PtStats();
    private final AtomicInteger nextMmId = new AtomicInteger();
    private final List<Mm> mms = new CopyOnWriteArrayList<>();
    private final SpinLock pgdLock = new SpinLock("pgd_lock", LockClass.PGD_LIST);
    /** x86 {@code pgd_list}: live non-init PGDs that receive kernel-half syncs; guarded by {@link #pgdLock}. */
    private final List<Mm> pgdList = new ArrayList<>();
    /** Run by destroyMm before the PGD is freed; nothing until an MMU is attached (no CPU can walk). */
    private static final java.util.function.Consumer<Mm> NO_EXIT_SHOOTDOWN = mm -> {};
    private volatile java.util.function.Consumer<Mm> exitShootdown = NO_EXIT_SHOOTDOWN;
    private final Mm initMm;
    private final KernelHalf kernelHalf;
    private final Rcu rcu;
    private final PteMaps pteMaps;
    /** Tables unlinked and waiting for their grace period (for the checker: constructed, unreachable). */
    private final Set<PageDesc> deferred = ConcurrentHashMap.newKeySet();
    private final AtomicLong deferredFrees = new AtomicLong();
    /**
     * Negative-control switch: when false, {@link #pteFreeDefer} and {@link #tlbRemoveTable}
     * free at once instead of after a grace period (the bug the RCU tests must catch).
     */
    volatile boolean rcuDeferral = true;

    /**
     * Negative control (experiments, {@code ptlab.sim.Bug#NO_RCU_FREE}): {@code false} makes
     * {@link #pteFreeDefer} and {@link #tlbRemoveTable} free at once, the bug lockless readers
     * then expose as use-after-free. Set it before any table is freed.
     */
    public void setRcuDeferral(boolean on) {
        rcuDeferral = on;
    }

    public PageTables(KernelConfig config, ViolationLog log) {
        this.config = config;
        this.arch = config.arch();
        this.geo = arch.geometry();
        this.fmt = arch.format();
        this.log = log;
        int paBits = fmt.physAddrBits();
        if (paBits < 64 && Long.compareUnsigned(config.ramBytes(), 1L << paBits) > 0) {
            throw new ptlab.phys.MemoryConfigException("RAM size " + config.ramBytes() + " is larger than the " + paBits
                    + "-bit physical address space of " + arch.name());
        }
        this.mem = new PhysicalMemory(geo.pageShift(), config.ramBytes(), log);
        this.alloc = new BuddyAllocator(mem);
        alloc.setPreemptRt(config.preemptRt());
        this.kernelHalf = new KernelHalf(this);
        this.rcu = new Rcu(log);
        this.pteMaps = new PteMaps(this);
        this.initMm = new Mm(nextMmId.getAndIncrement(), "init_mm", MmKind.INIT, log);
        // swapper_pg_dir: a reserved frame, no ctor (see the notes above).
        long pfn = alloc.allocate(arch.pgdOrder(), Gfp.KERNEL.zeroed(), "swapper_pg_dir").pfnOrThrow();
        PageDesc pgd = mem.tableDesc(pfn, true);
        pgd.level = geo.root();
        pgd.mm = initMm;
        pgd.hasMm = true;
        pgd.order = arch.pgdOrder();
        initMm.setPgd(pgd);
        mms.add(initMm);
    }

    /* ---- accessors ---- */

    public KernelConfig config() {
        return config;
    }

    public Architecture arch() {
        return arch;
    }

    public Geometry geometry() {
        return geo;
    }

    public PteFormat format() {
        return fmt;
    }

    /**
     * How many leading entries of {@code mm}'s table at {@code level} belong to {@code mm}: all
     * of them, except in a user PGD on an architecture whose upper half is init_mm's (x86,
     * RISC-V: the kernel half is copied in by {@code pgd_alloc}, and its tables are init_mm's).
     */
    public int ownedEntries(Mm mm, Level level) {
        boolean userRoot = level == geo.root() && !mm.isInitMm() && arch.sharesKernelHalf();
        return userRoot ? arch.kernelHalfStart() : geo.entries(level);
    }

    public PhysicalMemory memory() {
        return mem;
    }

    public BuddyAllocator allocator() {
        return alloc;
    }

    public ViolationLog log() {
        return log;
    }

    public PtStats stats() {
        return stats;
    }

    public Mm initMm() {
        return initMm;
    }

    public KernelHalf kernelHalf() {
        return kernelHalf;
    }

    /** This machine's RCU (grace periods and callbacks). */
    public Rcu rcu() {
        return rcu;
    }

    /** The {@code pte_offset_map} family over this machine's tables. */
    public PteMaps pteMaps() {
        return pteMaps;
    }

    /** Every mm that is not dead, init_mm first. */
    public List<Mm> mms() {
        List<Mm> out = new ArrayList<>();
        for (Mm m : mms) {
            if (!m.isDead()) {
                out.add(m);
            }
        }
        return out;
    }

    SpinLock pgdLock() {
        return pgdLock;
    }

    List<Mm> pgdListUnlocked() {
        return pgdList;
    }

    /** A copy of pgd_list taken under pgd_lock. */
    public List<Mm> pgdList() {
        pgdLock.lock();
        try {
            return new ArrayList<>(pgdList);
        } finally {
            pgdLock.unlock();
        }
    }

    /* ---- address spaces ---- */

    /**
     * {@code mm_alloc} + {@code pgd_alloc}: a new user or special mm with its root table. On x86
     * and RISC-V the kernel half of init_mm's PGD is cloned into it (x86 also joins pgd_list).
     *
     * @throws OutOfMemoryException if the PGD cannot be allocated (nothing is left behind)
     */
    public Mm newMm(String name, MmKind kind) {
        if (kind == MmKind.INIT) {
            throw new IllegalArgumentException("there is only one init_mm");
        }
        Mm mm = new Mm(nextMmId.getAndIncrement(), name, kind, log);
        kernelHalf.pgdAlloc(mm);
        mms.add(mm);
        return mm;
    }

    /**
     * Sets what {@link #destroyMm} runs between marking the mm dead and freeing its PGD: the
     * machine's MMU sets its lazy-TLB shootdown here, which waits until no CPU can still be
     * walking from the root (x86 sends the freed-tables flush to lazy CPUs too, and they
     * {@code leave_mm}; arm64 keeps the PGD until the last {@code mmdrop}). One per machine.
     *
     * @throws IllegalStateException if one is set already: the machine has its MMU
     */
    public synchronized void setExitShootdown(java.util.function.Consumer<Mm> shootdown) {
        java.util.Objects.requireNonNull(shootdown);
        if (exitShootdown != NO_EXIT_SHOOTDOWN) {
            throw new IllegalStateException("this machine already has an MMU (a Kernel's is Kernel.mmu()): the CPUs of a second"
                    + " one would never see the flushes of operations, which go through the first");
        }
        exitShootdown = shootdown;
    }

    /** {@code pgd_free}: leaves pgd_list, destructs and frees the root. All lower tables must be gone. */
    public void destroyMm(Mm mm) {
        if (mm.isInitMm()) {
            throw new IllegalArgumentException("init_mm is never freed");
        }
        mm.markDead(); // before the PGD goes: a CPU that still has the mm sees it dead before it could walk a freed root
        exitShootdown.accept(mm); // CPUs still walking from the root finish first (see setExitShootdown)
        kernelHalf.pgdFree(mm);
        mms.remove(mm);
        if (mm.pgtablesBytes() != 0) {
            log.record("mm-accounting", "check_mm: " + mm + " freed with pgtables_bytes " + mm.pgtablesBytes());
        }
    }

    /* ---- table pages ---- */

    /** Frame order of a table at {@code level} (the PGD may be larger, e.g. PTI). */
    public int tableOrder(Level level) {
        return level == geo.root() ? arch.pgdOrder() : 0;
    }

    /**
     * Allocates and constructs a table ({@code p?d_alloc_one}): GFP_PGTABLE_KERNEL for init_mm,
     * GFP_PGTABLE_USER otherwise; zeroed; the level's ctor run with {@code ctorMm}.
     *
     * @param owner  the mm whose table this is (accounting happens at install, not here)
     * @param ctorMm what the ctor is told: normally {@code owner}; {@code null} for a special
     *               allocator that does not know the mm
     * @throws OutOfMemoryException on allocation or ctor failure; nothing is leaked
     */
    public PageDesc allocTable(Mm owner, Mm ctorMm, Level level, String site) {
        return allocTable(owner, ctorMm, level, site, owner.isInitMm() ? Gfp.PGTABLE_KERNEL : Gfp.PGTABLE_USER);
    }

    /**
     * As {@link #allocTable(Mm, Mm, Level, String)} with explicit GFP flags, e.g. the GFP_ATOMIC
     * that arm64's linear-map split used inside stop_machine before the preallocation fix.
     */
    public PageDesc allocTable(Mm owner, Mm ctorMm, Level level, String site, Gfp gfp) {
        int order = tableOrder(level);
        AllocResult r = alloc.allocate(order, gfp, site);
        if (!(r instanceof AllocResult.Frames)) {
            throw new OutOfMemoryException((AllocResult.Failed) r);
        }
        long pfn = ((AllocResult.Frames) r).pfn();
        PageDesc d = mem.tableDesc(pfn, true);
        d.order = order;
        d.mm = owner;
        d.level = level;
        if (!ctor(ctorMm, level, d)) {
            stats.ctorFailed();
            d.level = null;
            d.mm = null;
            alloc.free(pfn, order);
            throw new OutOfMemoryException(new AllocResult.Failed("ptlock_alloc for " + site, 0, true));
        }
        return d;
    }

    /**
     * Makes an allocated frame block a table of {@code owner} at {@code level}, zeroed: with the
     * level's ctor for {@code ctorMm} when {@code construct} (a preallocated {@code pagetable_alloc}
     * page consumed later, {@code __pgd_pgtable_init}), or as an early {@code memblock} table that
     * is never constructed when not.
     *
     * @throws OutOfMemoryException if the ctor fails (the frames stay allocated: the caller frees them)
     */
    public PageDesc adoptTable(Mm owner, Mm ctorMm, Level level, long pfn, boolean construct) {
        int order = tableOrder(level);
        PageDesc d = mem.tableDesc(pfn, true);
        d.order = order;
        d.mm = owner;
        d.level = level;
        if (!construct) {
            d.hasMm = true;
            d.memblock = true;
            return d;
        }
        if (!ctor(ctorMm, level, d)) {
            stats.ctorFailed();
            d.level = null;
            d.mm = null;
            throw new OutOfMemoryException(new AllocResult.Failed("ptlock_alloc for adopted table", 0, true));
        }
        return d;
    }

    /** Whether tables of {@code level} get a ctor when owned by {@code owner} (false only for pre-6.16 kernel PTEs). */
    private boolean ctorRuns(Level level, Mm ctorMm) {
        return !(config.pre616Ctors() && level == Level.PTE && ctorMm != null && ctorMm.isInitMm());
    }

    /** Whether a table of {@code level} constructed for {@code ctorMm} must have a split ptlock. */
    public boolean ptlockExpected(Level level, Mm ctorMm, boolean hasMm) {
        boolean initMm = hasMm && ctorMm != null && ctorMm.isInitMm();
        if (level == Level.PTE) {
            return config.splitPtePtlocks() && !initMm && ctorRuns(level, hasMm ? ctorMm : null);
        }
        if (level == Level.PMD && config.pmdTablesHavePtlock()) {
            return config.pre616Ctors() || !initMm;
        }
        return false;
    }

    private boolean ctor(Mm ctorMm, Level level, PageDesc d) {
        d.hasMm = ctorMm != null;
        if (!ctorRuns(level, ctorMm)) {
            return true;
        }
        if (ptlockExpected(level, ctorMm, ctorMm != null) && !ptlockInit(d)) {
            return false;
        }
        d.pageTable = true;
        stats.ctor(level, 1 << d.order);
        ptlab.events.Tracepoints.table(true, level.kernelName(), d.mm, d.pfn());
        return true;
    }

    /** {@code ptlock_init} (+ {@code ptlock_alloc} with ALLOC_SPLIT_PTLOCKS, which may fail). */
    private boolean ptlockInit(PageDesc d) {
        if (d.ptl != null) {
            throw new LockProtocolError("ptlock_init: ptl of pfn 0x" + Long.toHexString(d.pfn()) + " is not zero");
        }
        boolean dynamic = config.dynamicPtlocks();
        if (dynamic && alloc.faultInjector().shouldFail("ptlock_alloc")) {
            return false;
        }
        LockClass cls = d.level == Level.PTE ? LockClass.PTE_PTL : LockClass.PMD_PTL;
        d.ptl = new SpinLock("ptl@" + Long.toHexString(d.pfn()), cls);
        d.ptlDynamic = dynamic;
        stats.ptlockInit(dynamic);
        return true;
    }

    /** {@code pagetable_dtor} + {@code pagetable_free}. The table must be unreachable. */
    public void freeTable(PageDesc d) {
        freeTable(d, "pagetable_free");
    }

    /** {@link #freeTable(PageDesc)}, naming the site that frees it in later use-after-free reports ({@link PageDesc#freedBy}). */
    private void freeTable(PageDesc d, String site) {
        d.freedBy = site + " of " + d.level + " table of " + d.mm + " on " + ptlab.cpu.SimCpu.current();
        dtor(d);
        alloc.free(d.pfn(), d.order);
    }

    /* ---- RCU-deferred table free (pte_free_defer, tlb_remove_table) ---- */

    /**
     * {@code pte_free_defer(mm, pgtable)}: frees a PTE table that was reachable, and may still
     * be mapped by a lockless reader, after an RCU grace period. The caller has cleared the PMD,
     * flushed the TLB and done {@code mm_dec_nr_ptes}; the dtor runs in the callback
     * ({@code pte_free_now} → {@code pte_free} → {@code pagetable_dtor_free}), so the table
     * stays in NR_PAGETABLE until then.
     */
    public void pteFreeDefer(PageDesc d) {
        if (d.level != Level.PTE) {
            throw new IllegalArgumentException("pte_free_defer of a " + d.level + " table");
        }
        deferFree(d, "pte_free_defer");
    }

    /**
     * {@code p?d_free_tlb} → {@code tlb_remove_table} with {@code MMU_GATHER_RCU_TABLE_FREE}
     * (x86, arm64): after the unhook and the TLB flush, the table goes to {@code call_rcu} and
     * {@code __tlb_remove_table} runs its dtor and frees it after the grace period.
     */
    public void tlbRemoveTable(PageDesc d) {
        deferFree(d, "tlb_remove_table");
    }

    private void deferFree(PageDesc d, String site) {
        deferredFrees.incrementAndGet();
        if (!rcuDeferral) {
            freeUnlinked(d, site);
            return;
        }
        deferred.add(d);
        rcu.callRcu(() -> {
            deferred.remove(d);
            freeUnlinked(d, site + " after a grace period");
        });
    }

    /** The free at the end of a deferral: the table must hold no entry (nothing refilled it after the unhook). */
    private void freeUnlinked(PageDesc d, String site) {
        long[] w = d.words();
        for (int i = 0; i < w.length; i++) {
            long e = Words.getAcquire(w, i);
            if (!fmt.isNone(e)) {
                log.record("free-nonempty", site + ": " + d.level + " table pfn 0x" + Long.toHexString(d.pfn()) + " of " + d.mm
                        + " freed with entry " + i + " = 0x" + Long.toHexString(e) + " (written after it was unhooked?)");
                break;
            }
        }
        freeTable(d, site);
    }

    /** Tables unhooked and waiting for a grace period: constructed, counted in NR_PAGETABLE, unreachable. */
    public java.util.Collection<PageDesc> deferredTables() {
        return new ArrayList<>(deferred);
    }

    /** Tables handed to {@link #pteFreeDefer} or {@link #tlbRemoveTable} so far. */
    public long deferredFrees() {
        return deferredFrees.get();
    }

    /** {@code rcu_barrier()}: runs every pending deferred free (tests and the checker call it first). */
    public void rcuBarrier() {
        rcu.barrier();
    }

    private void dtor(PageDesc d) {
        if (d.ptl != null) {
            stats.ptlockFree(d.ptlDynamic);
            d.ptl = null;
        }
        if (d.pageTable) {
            d.pageTable = false;
            stats.dtor(d.level, 1 << d.order);
            ptlab.events.Tracepoints.table(false, d.level.kernelName(), d.mm, d.pfn());
        }
    }

    /* ---- entries ---- */

    /** Physical address of a table. */
    public long pa(PageDesc table) {
        return mem.paOf(table.pfn());
    }

    /** The table a present table entry at {@code level} points to. */
    public PageDesc child(Level level, long entry) {
        return mem.descAt(fmt.outputAddress(level, entry));
    }

    /** {@code READ_ONCE(*entry)} / {@code pXdp_get}: acquire, so a table found is seen initialised. */
    public static long read(PageDesc table, int index) {
        return Words.getAcquire(table.words(), index);
    }

    /** {@code set_pXd}: release, so what the entry points to is visible before the entry. */
    public static void write(PageDesc table, int index, long value) {
        Words.setRelease(table.words(), index, value);
    }

    /* ---- locks (include/linux/mm.h) ---- */

    /**
     * Why a lock lookup found no ptlock on a freed table: the dtor dropped it, so the caller
     * holds a table that was freed under it, not one constructed without a lock.
     */
    private static final String FREED = " is freed (its dtor dropped the ptlock): a use after free; was the table freed without"
            + " pte_free_defer/tlb_remove_table, or reached outside an RCU read section?";

    /** {@code pte_lockptr(mm, pmd)}: the PTE table's split lock, else {@code mm->page_table_lock}. */
    public SpinLock pteLockptr(Mm mm, PageDesc pteTable) {
        if (!config.splitPtePtlocks()) {
            return mm.pageTableLock();
        }
        SpinLock l = pteTable.ptl;
        if (l == null) {
            throw new LockProtocolError("pte_lockptr: PTE table pfn 0x" + Long.toHexString(pteTable.pfn()) + " of " + mm
                    + (pteTable.poisoned() ? FREED : " has no ptlock (constructed for init_mm?)"));
        }
        return l;
    }

    /**
     * {@code pmd_lockptr(mm, pmd)}: with split PMD locks, the lock of the PMD table that holds the
     * entry; else {@code mm->page_table_lock}. {@code pmdTable} is the table at the run-time level
     * that holds PMD entries.
     */
    public SpinLock pmdLockptr(Mm mm, PageDesc pmdTable) {
        if (config.pmdTablesHavePtlock() && pmdTable.poisoned()) {
            // Linux reads ptlock_ptr of the freed page here; the level (null after the free)
            // would otherwise send a freed PMD table to page_table_lock without a word.
            throw new LockProtocolError("pmd_lockptr: PMD table pfn 0x" + Long.toHexString(pmdTable.pfn()) + " of " + mm + FREED);
        }
        if (config.pmdTablesHavePtlock() && pmdTable.level == Level.PMD) {
            SpinLock l = pmdTable.ptl;
            if (l == null) {
                throw new LockProtocolError("pmd_lockptr: PMD table pfn 0x" + Long.toHexString(pmdTable.pfn()) + " of " + mm
                        + " has no ptlock");
            }
            return l;
        }
        return mm.pageTableLock();
    }

    /** {@code pud_lockptr}: always {@code mm->page_table_lock}. */
    public SpinLock pudLockptr(Mm mm) {
        return mm.pageTableLock();
    }

    /* ---- accounting (mm_inc_nr_ptes and friends) ---- */

    /** Whether tables of {@code level} count in {@code pgtables_bytes}: PTE, unfolded PMD and PUD. */
    public boolean countedInVmPte(Level level) {
        return (level == Level.PTE || level == Level.PMD || level == Level.PUD) && !geo.isFolded(level);
    }

    /** {@code mm_inc_nr_ptes/pmds/puds}. */
    public void accountTable(Mm mm, Level level, int sign) {
        if (countedInVmPte(level)) {
            mm.addPgtablesBytes((long) sign * geo.tableBytes(level));
            if (mm.pgtablesBytes() < 0) {
                log.record("mm-accounting", mm + " pgtables_bytes went negative (" + mm.pgtablesBytes() + ")");
            }
        }
    }

    /* ---- THP deposit (pgtable_trans_huge_deposit / withdraw) ---- */

    /**
     * {@code pgtable_trans_huge_deposit}: parks a constructed PTE table with the huge PMD at
     * {@code pmdTable}; it stays counted in VmPTE. Caller holds {@code pmd_lock}.
     */
    @SuppressWarnings("unchecked")
    public void deposit(Mm mm, PageDesc pmdTable, PageDesc pte) {
        java.util.ArrayDeque<PageDesc> stack;
        if (config.pmdTablesHavePtlock() && pmdTable.level == Level.PMD) {
            pmdLockptr(mm, pmdTable).assertHeld();
            if (pmdTable.extra == null) {
                pmdTable.extra = new java.util.ArrayDeque<PageDesc>();
            }
            stack = (java.util.ArrayDeque<PageDesc>) pmdTable.extra;
        } else {
            mm.pageTableLock().assertHeld();
            stack = mm.mmDeposits;
        }
        stack.push(pte);
    }

    /** {@code pgtable_trans_huge_withdraw}: pops the most recently deposited table. Caller holds {@code pmd_lock}. */
    @SuppressWarnings("unchecked")
    public PageDesc withdraw(Mm mm, PageDesc pmdTable) {
        java.util.ArrayDeque<PageDesc> stack;
        if (config.pmdTablesHavePtlock() && pmdTable.level == Level.PMD) {
            pmdLockptr(mm, pmdTable).assertHeld();
            stack = (java.util.ArrayDeque<PageDesc>) pmdTable.extra;
        } else {
            mm.pageTableLock().assertHeld();
            stack = mm.mmDeposits;
        }
        if (stack == null || stack.isEmpty()) {
            throw new IllegalStateException("withdraw from " + mm + ": no deposited table");
        }
        return stack.pop();
    }

    /** Deposited tables parked with {@code pmdTable} (or with {@code mm} without split PMD locks); for the checker. */
    @SuppressWarnings("unchecked")
    public java.util.List<PageDesc> deposits(Mm mm, PageDesc pmdTable) {
        if (config.pmdTablesHavePtlock() && pmdTable != null && pmdTable.level == Level.PMD) {
            Object o = pmdTable.extra;
            return o == null ? java.util.List.of() : new java.util.ArrayList<>((java.util.ArrayDeque<PageDesc>) o);
        }
        return new java.util.ArrayList<>(mm.mmDeposits);
    }
}
