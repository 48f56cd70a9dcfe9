package ptlab.mmu;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import ptlab.arch.Architecture;
import ptlab.arch.X86Format;
import ptlab.cpu.LockProtocolError;
import ptlab.cpu.SimCpu;
import ptlab.cpu.Violation;
import ptlab.pgtable.Mm;
import ptlab.pgtable.PageTables;

/**
 * The software MMU of one simulated machine: the per-CPU MMUs ({@link CpuMmu}), ASIDs, TLB
 * flushes with cross-CPU shootdown, {@link TlbGather}, and the stale-TLB audit.
 *
 * <p>Flush API, Linux names: {@link #flushRange} ({@code flush_tlb_range}),
 * {@link #flushPage}, {@link #flushMm}, {@link #flushAll}, {@link #flushKernelRange}. Each
 * returns when every CPU that may be using the flushed entries has dropped them (and every
 * other CPU will before its next translation).
 */
/*
 * Implementation notes.
 *
 * ASIDs are global (arm64 style, also used for x86 PCIDs and RISC-V ASIDs): one per mm,
 * assigned on the first switch_mm. ASID 0 is not used; init_mm gets one like any mm, its
 * kernel entries are global where the format says so. The space is 12 bits, 1 to
 * CpuMmu.MAX_ASID (x86's PCID width; the TLB key needs the other 52 bits, see CpuMmu).
 *
 * Reuse: when the space runs out, the next new context takes the ASID of a dead mm that no
 * CPU has current (a CPU that last ran it lazily still does, and keeps it reserved, as
 * arm64's reserved_asids). Before the ASID changes hands, a flush_tlb_mm of it goes to every
 * CPU; no CPU runs it, so none is waited for, and each applies it before its next
 * translation or switch_mm (switch_mm drains before the new ASID can fill an entry).
 *
 * Rollover (2026-11-22; before, a new mm failed once every ASID belonged to a live mm): when
 * no dead ASID is free either, arm64's new_context/flush_context. Every context no CPU has
 * current is retired (removed; its mm gets a new context and ASID at its next switch_mm),
 * the current ones keep their ASIDs (reserved), and a flush of everything is posted to every
 * CPU without waiting (as arm64 queues local_flush_tlb_all for each CPU's next switch):
 * no CPU runs a retired ASID, and each drops it before its next translation or switch_mm.
 * Waiting is not only unneeded but unsafe there: the rollover holds asidLock, which a CPU
 * in switchMm may be waiting for. Races:
 *  - A CPU switching to an mm whose context the rollover retires: switchMm publishes
 *    `current` (volatile), then reads the context's `valid` (volatile); the rollover clears
 *    `valid`, then reads every CPU's `current`. By the total order of volatiles either the
 *    rollover sees the CPU run the context (and keeps it) or the CPU sees it retired and
 *    takes a new one before it uses the ASID.
 *  - A flush racing a rollover: a flusher that read the mm's old context posts for the old
 *    ASID (harmless: that ASID's entries are being dropped anyway) and would not wait for a
 *    CPU that switched to the mm under its new ASID, which could be inside a walk of a table
 *    the flusher frees. So after posting, the flusher reads the context again and posts for
 *    the new one (shootdownMm). The flusher's post is a locked update of each CPU's
 *    `requested`, after its unhook: a CPU that takes the new context after the re-read walks
 *    tables that show the unhook. The same re-read covers an mm no CPU had switched to yet.
 * AsidTest stresses this with 4 ASIDs, 3 CPUs and 10 processes: without the reservation, the
 * `valid` retry, or the rollover's flush, CPUs read another process's page within seconds
 * (the re-read is not caught by it: its window is a walk in flight, which reads cannot see).
 *
 * The gather's tlb_flush_pending lives on the Mm (mm->tlb_flush_pending), not on the
 * context, so a rollover between a gather's open and close cannot lose the count; and
 * opening a gather no longer gives an ASID to an mm no CPU runs.
 *
 * Stale-TLB audit: at a quiescent point (no CPU translating, no gather open on the mm) every
 * cached entry must agree with a fresh read-only walk of the tables: same page, same leaf
 * level, and no right the tables do not grant now (after the dirty rule: a cached write on a
 * page whose dirty state was cleared is stale too). A disagreement means an operation changed
 * live tables and did not flush: the violation "stale-tlb". Fewer cached rights than the tables
 * grant is fine (the next access refaults into the walk). Entries of dead mms are skipped, and
 * entries a request still queued on their CPU will drop (the dead mm's flush before its ASID
 * was reused, above): the CPU applies it before it translates again.
 *
 * Not modelled: paging-structure (walk) caches, so a freed table is only reachable by an
 * in-flight walk, which the shootdown's wait covers; the contiguous hint (entries are cached
 * per page); x86's lazy-TLB tlb_gen catch-up (an offline CPU applies queued requests instead, and comes
 * online before it walks again: see CpuMmu's protocol notes).
 */
public final class Mmu {
    /** {@code tlb_single_page_flush_ceiling} (x86 default 33): larger ranges flush the whole mm. */
    public static final int DEFAULT_FLUSH_CEILING = 33;
    private static final long ACK_TIMEOUT_NANOS = 10_000_000_000L;

    private final PageTables pt;
    private final Architecture arch;
    private final HardwareWalker walker;
    /** The x86-64 walk (null on other architectures): see X86Walker. */
    private final X86Walker x86Walker;
    private final List<CpuMmu> cpus = new CopyOnWriteArrayList<>();
    private final ConcurrentHashMap<Mm, MmContext> contexts = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<Integer, MmContext> byAsid = new ConcurrentHashMap<>();
    /** Guards ASID allocation: {@link #usedAsids}, the reuse of dead mms' ASIDs and rollovers. */
    private final Object asidLock = new Object();
    /** The ASIDs some context in {@link #contexts} holds; 0 is never used. */
    private final java.util.BitSet usedAsids = new java.util.BitSet();
    /** The largest ASID handed out: CpuMmu.MAX_ASID, smaller in tests that want rollovers often. */
    private int asidLimit = CpuMmu.MAX_ASID;
    private final AtomicLong rollovers = new AtomicLong();
    private final List<FlushObserver> observers = new CopyOnWriteArrayList<>();
    private final AtomicLong flushes = new AtomicLong();
    private final AtomicLong shootdowns = new AtomicLong();
    private final AtomicInteger dropFlushes = new AtomicInteger();
    private volatile TableFreer tableFreer;
    private volatile int flushCeiling = DEFAULT_FLUSH_CEILING;
    private final long kernelRoot;

    /**
     * The MMU of the machine whose tables are {@code pt}: one per machine. A
     * {@code ptlab.mm.Kernel} makes its own ({@code Kernel.mmu()}); this constructor is for
     * tables used without one (e.g. {@link ptlab.range.PageRanges}).
     *
     * @throws IllegalStateException if {@code pt} already has an MMU
     */
    public Mmu(PageTables pt) {
        this.pt = pt;
        this.arch = pt.arch();
        this.walker = new HardwareWalker(arch.geometry(), arch.format(), HardwareRules.of(arch.format()), pt.memory());
        this.x86Walker = arch.format() instanceof X86Format ? new X86Walker(walker, arch.geometry(), (X86Format) arch.format(), pt.memory()) : null;
        // tlb_remove_table with MMU_GATHER_RCU_TABLE_FREE: after the flush, dtor and free wait for a grace period.
        this.tableFreer = tables -> tables.forEach(pt::tlbRemoveTable);
        this.kernelRoot = pt.pa(pt.initMm().pgd());
        pt.setExitShootdown(this::exitShootdown);
    }

    /**
     * The lazy-TLB shootdown of an exiting mm, after it is marked dead and before its PGD is
     * freed: an MM flush of its ASID to every CPU, waited for on those online in it. Each such
     * CPU may be inside a walk from the root (a walk that read "not dead" just before); it acks
     * between translations, so the PGD outlives every walk. Offline CPUs are not waited for:
     * their next translation brings them online first, and its drain sees this request, then
     * the dead mm (CpuMmu.rejoin and the slow path's check), so they never walk the freed root.
     * Nothing to do for an mm no CPU ever switched to. Never dropped by fault injection: it
     * belongs to exit, not to an operation's flush.
     */
    private void exitShootdown(Mm mm) {
        shootdownMm(mm, FlushRequest.Kind.MM, 0, 0, true);
    }

    public Architecture arch() {
        return arch;
    }

    public PageTables pageTables() {
        return pt;
    }

    long kernelRoot() {
        return kernelRoot;
    }

    /** The A/D mode modelled for this architecture, in one line. */
    public String accessedDirtyMode() {
        return walker.rules().accessedDirtyMode();
    }

    /* ---- CPUs ---- */

    /**
     * The MMU of simulated CPU {@code cpu} (created on first use with a 1024-entry base TLB and
     * 64-entry block TLBs), also stored in the CPU's MMU slot so the kernel can find it.
     */
    public CpuMmu attach(SimCpu cpu) {
        return attach(cpu, 1024, 64);
    }

    /** Largest TLB set (entries); QEMU's softmmu TLB grows to 2^22. */
    public static final int MAX_TLB_ENTRIES = 1 << 24;

    public synchronized CpuMmu attach(SimCpu cpu, int baseEntries, int blockEntries) {
        Object s = cpu.mmuState();
        if (s instanceof CpuMmu && ((CpuMmu) s).mmu() == this) {
            return (CpuMmu) s;
        }
        if (Integer.bitCount(baseEntries) != 1 || Integer.bitCount(blockEntries) != 1
                || baseEntries > MAX_TLB_ENTRIES || blockEntries > MAX_TLB_ENTRIES) {
            throw new IllegalArgumentException("TLB sizes must be powers of two up to 2^24: " + baseEntries + ", " + blockEntries);
        }
        CpuMmu c = new CpuMmu(this, cpu.id(), walker, x86Walker, baseEntries, blockEntries);
        cpu.setMmuState(c);
        cpus.add(c);
        return c;
    }

    public List<CpuMmu> cpus() {
        return new ArrayList<>(cpus);
    }

    /**
     * Takes the calling thread's CPU offline ({@link CpuMmu#leave}) if it is an online CPU of
     * this machine: the entry of a call into kernel code that may block, such as the system
     * calls and the page fault ({@code handle_mm_fault}) of {@code ptlab.mm.Process}, which call
     * it. A flusher may hold the {@code mmap_lock} or ptlock such a call waits for; a real CPU
     * takes the flush IPI while it sleeps or spins there, a simulated one only between
     * translations, so the flusher must not wait for it. Its next translation brings it back
     * online (and applies what was posted meanwhile first). Any thread; a no-op for a thread
     * that is not a CPU of this machine.
     */
    public void leaveCallingCpu() {
        CpuMmu c = CpuMmu.ofCurrentThread(this);
        if (c != null && c.online) {
            c.leave();
        }
    }

    MmContext context(Mm mm) {
        MmContext c = contexts.get(mm);
        return c != null ? c : newContext(mm);
    }

    private MmContext newContext(Mm mm) {
        synchronized (asidLock) {
            MmContext c = contexts.get(mm);
            if (c != null) {
                return c;
            }
            c = new MmContext(mm, allocAsid());
            usedAsids.set(c.asid);
            byAsid.put(c.asid, c);
            contexts.put(mm, c);
            return c;
        }
    }

    /** A free ASID: never used since the last rollover, else a dead mm's, else after a rollover. Caller holds {@link #asidLock}. */
    private int allocAsid() {
        int a = usedAsids.nextClearBit(1);
        if (a <= asidLimit) {
            return a;
        }
        a = reuseDeadAsid();
        if (a > 0) {
            return a;
        }
        rollover();
        a = usedAsids.nextClearBit(1);
        if (a <= asidLimit) {
            return a;
        }
        throw new IllegalStateException("all " + asidLimit + " ASIDs are current on some CPU: no ASID for a new mm");
    }

    /**
     * {@code new_context}'s rollover (arm64 {@code flush_context}): every context that no CPU
     * has current is retired and its ASID freed; the contexts CPUs run keep theirs (arm64's
     * reserved ASIDs); every CPU drops its whole TLB before its next translation or
     * switch_mm. Caller holds {@link #asidLock}. See the notes.
     */
    private void rollover() {
        List<MmContext> all = new ArrayList<>(contexts.values());
        for (MmContext c : all) {
            c.valid = false; // volatile: before the reads of current below (Dekker with switchMm)
        }
        for (CpuMmu cpu : cpus) {
            MmContext cur = cpu.currentContext();
            if (cur != null && contexts.get(cur.mm) == cur) {
                cur.valid = true; // reserved: a CPU runs it, lazily perhaps
            }
        }
        for (MmContext c : all) {
            if (!c.valid) {
                retire(c);
            }
        }
        rollovers.incrementAndGet();
        // No CPU runs a retired ASID, so none is waited for (waiting here, under asidLock,
        // could wait for a CPU blocked on it in switchMm). Part of the ASID allocator, not of
        // an operation: dropNextFlushes does not drop it.
        post(new FlushRequest(FlushRequest.Kind.ALL, FlushRequest.NO_WAIT, 0, 0));
    }

    /** Forgets {@code c}: its mm gets a new context at its next switch, its ASID is free. Caller holds {@link #asidLock}. */
    private void retire(MmContext c) {
        c.valid = false;
        contexts.remove(c.mm, c);
        byAsid.remove(c.asid, c);
        usedAsids.clear(c.asid);
    }

    /**
     * The ASID that tags {@code mm}'s TLB entries now, as {@link FlushRequest#asid} names the mm
     * to a {@link FlushObserver}; 0 if no CPU has switched to it since its last ASID was retired
     * (or ever). It can change: a rollover gives an mm that no CPU runs a new ASID at its next
     * switch_mm.
     */
    public int asidOf(Mm mm) {
        MmContext c = contexts.get(mm);
        return c == null ? 0 : c.asid;
    }

    /** ASID rollovers so far. */
    public long asidRollovers() {
        return rollovers.get();
    }

    /** Tests: hand out ASIDs 1 to {@code limit} only, so that rollovers come early. */
    void setAsidLimit(int limit) {
        if (limit < 1 || limit > CpuMmu.MAX_ASID) {
            throw new IllegalArgumentException("ASID limit must be 1 to " + CpuMmu.MAX_ASID + ": " + limit);
        }
        synchronized (asidLock) {
            asidLimit = limit;
        }
    }

    /**
     * The ASID of a dead mm no CPU has current, flushed from every TLB first (see the notes);
     * its context is forgotten. -1 if there is none. Caller holds {@link #asidLock}.
     */
    private int reuseDeadAsid() {
        for (MmContext c : contexts.values()) {
            if (c.mm.isDead() && !currentOnAnyCpu(c)) {
                // No CPU runs this ASID, so the shootdown waits for none; each CPU drops the
                // entries before its next translation or switch_mm. Part of the ASID
                // allocator, not of an operation: dropNextFlushes does not drop it.
                post(new FlushRequest(FlushRequest.Kind.MM, c.asid, 0, 0));
                retire(c);
                return c.asid;
            }
        }
        return -1;
    }

    private boolean currentOnAnyCpu(MmContext ctx) {
        for (CpuMmu c : cpus) {
            if (c.currentContext() == ctx) {
                return true;
            }
        }
        return false;
    }

    /* ---- flushes ---- */

    public void flushRange(Mm mm, long start, long end) {
        shootdownMm(mm, FlushRequest.Kind.RANGE, start, end, false);
    }

    public void flushPage(Mm mm, long va) {
        long page = arch.geometry().pageSize();
        flushRange(mm, va & -page, (va & -page) + page);
    }

    public void flushMm(Mm mm) {
        shootdownMm(mm, FlushRequest.Kind.MM, 0, 0, false);
    }

    /**
     * A flush of {@code mm}'s entries under the ASID of its context. No context: no CPU ever
     * switched to it since its last rollover, so no TLB holds it (counted only). Then the
     * context is read again: a rollover may have retired the one flushed and a CPU switched
     * to the mm under a new ASID meanwhile; the flush is posted again for that one, so the
     * CPUs now online in it are waited for too (see the notes). {@code always}: never
     * dropped by fault injection.
     */
    private void shootdownMm(Mm mm, FlushRequest.Kind kind, long start, long end, boolean always) {
        MmContext c = contexts.get(mm);
        if (c == null) {
            countOnly(new FlushRequest(kind, 0, start, end));
            c = contexts.get(mm); // a CPU that switched to it meanwhile (see the notes)
        }
        while (c != null) {
            FlushRequest req = new FlushRequest(kind, c.asid, start, end);
            if (always) {
                post(req);
            } else {
                shootdown(req);
            }
            MmContext again = contexts.get(mm);
            c = again == c ? null : again;
        }
    }

    public void flushAll() {
        shootdown(new FlushRequest(FlushRequest.Kind.ALL, FlushRequest.ANY_ASID, 0, 0));
    }

    public void flushKernelRange(long start, long end) {
        shootdown(new FlushRequest(FlushRequest.Kind.KERNEL_RANGE, FlushRequest.ANY_ASID, start, end));
    }

    /** Flushes issued (including those no TLB needed). */
    public long flushes() {
        return flushes.get();
    }

    /** Shootdown requests posted to other CPUs (the IPIs of a flush). */
    public long shootdowns() {
        return shootdowns.get();
    }

    private void countOnly(FlushRequest req) {
        flushes.incrementAndGet();
        for (FlushObserver o : observers) {
            o.flushed(req);
        }
    }

    private void shootdown(FlushRequest req) {
        if (dropFlushes.get() > 0 && dropFlushes.getAndDecrement() > 0) {
            return; // fault injection: the negative control for the stale-TLB audit
        }
        post(req);
    }

    /** Sends {@code req} to every CPU and waits for those that must ack; never dropped by fault injection. */
    private void post(FlushRequest req) {
        flushes.incrementAndGet();
        CpuMmu self = CpuMmu.ofCurrentThread(this);
        Thread me = Thread.currentThread();
        List<CpuMmu> all = cpus;
        int n = all.size();
        if (self == null) {
            for (CpuMmu c : all) {
                if (c.owner == me) {
                    self = c;
                }
            }
        }
        if (n > 0) {
            long[] seq = new long[n];
            for (int i = 0; i < n; i++) {
                CpuMmu c = all.get(i);
                if (c == self || c.owner == me) {
                    c.apply(req);
                } else {
                    seq[i] = c.post(req);
                    shootdowns.incrementAndGet();
                }
            }
            for (int i = 0; i < n; i++) {
                CpuMmu c = all.get(i);
                if (c != self && c.owner != me) {
                    awaitAck(c, seq[i], req, self);
                }
            }
        }
        for (FlushObserver o : observers) {
            o.flushed(req);
        }
    }

    private static void awaitAck(CpuMmu c, long seq, FlushRequest req, CpuMmu self) {
        long deadline = 0;
        int spins = 0;
        if (req.asid() == FlushRequest.NO_WAIT) {
            return;
        }
        while (c.acked() < seq && c.online && (req.asid() == FlushRequest.ANY_ASID || c.activeAsid == req.asid())) {
            if (self != null) {
                self.poll();
            }
            if (++spins < 64) {
                Thread.onSpinWait();
                continue;
            }
            Thread.yield();
            long now = System.nanoTime();
            if (deadline == 0) {
                deadline = now + ACK_TIMEOUT_NANOS;
            } else if (now - deadline > 0) {
                throw new LockProtocolError("TLB shootdown " + req + " not acknowledged by " + c
                        + " in 10 s: an online CPU must translate, poll() or leave()");
            }
        }
    }

    /* ---- mmu_gather ---- */

    /** {@code tlb_gather_mmu}: a gather for {@code mm}; close it (try-with-resources) to flush and free. */
    public TlbGather gather(Mm mm) {
        return new TlbGather(this, mm);
    }

    /** Where gathers hand tables after the flush (default: free at once). */
    public void setTableFreer(TableFreer f) {
        tableFreer = f;
    }

    TableFreer tableFreer() {
        return tableFreer;
    }

    public int flushCeiling() {
        return flushCeiling;
    }

    public void setFlushCeiling(int pages) {
        flushCeiling = pages;
    }

    /** {@code mm_tlb_flush_pending}. */
    public boolean flushPending(Mm mm) {
        return mm.tlbFlushPending();
    }

    public void addObserver(FlushObserver o) {
        observers.add(o);
    }

    /** Fault injection: the next {@code n} shootdowns are silently dropped (a "missing flush"). */
    public void dropNextFlushes(int n) {
        dropFlushes.set(n);
    }

    /* ---- stale-TLB audit ---- */

    /**
     * Compares every CPU's cached entries with the tables. Call at a quiescent point (no CPU
     * thread translating). Violations are returned and recorded in the machine's log.
     */
    public List<Violation> audit() {
        List<Violation> out = new ArrayList<>();
        WalkResult r = new WalkResult();
        for (CpuMmu c : cpus) {
            if (c.offlineWithQueuedFlushes()) {
                continue; // it applies the queued flushes before it translates again
            }
            c.forEachEntry((va, asid, li, pa, rights) -> {
                MmContext ctx = asid == CpuMmu.GLOBAL_ASID ? contexts.get(pt.initMm()) : byAsid.get(asid);
                if (asid == CpuMmu.GLOBAL_ASID && ctx == null) {
                    ctx = context(pt.initMm());
                }
                long last = va + walker.entrySize(li) - 1;
                if (ctx == null || ctx.mm.isDead() || ctx.mm.tlbFlushPending() || c.queuedFlushDrops(va, last, asid)) {
                    return;
                }
                String why = null;
                if (!c.auditWalk(va, ctx, r)) {
                    why = "tables give " + Translation.faultOf(r.fault);
                } else if (r.levelIndex != li) {
                    why = "tables map it at " + arch.geometry().levels().get(r.levelIndex) + " (TLB entry of another size)";
                } else if (r.pagePa != pa) {
                    why = "tables map pa 0x" + Long.toHexString(r.pagePa);
                } else if ((rights & ~r.rights) != 0) {
                    why = "tables grant only " + Rights.toString(r.rights);
                }
                if (why != null) {
                    out.add(new Violation("stale-tlb", c + " caches va 0x" + Long.toHexString(va) + " -> pa 0x"
                            + Long.toHexString(pa) + " " + Rights.toString(rights) + " for " + ctx.mm + ", but " + why
                            + " (missing flush)"));
                }
            });
        }
        for (Violation v : out) {
            pt.log().record(v);
        }
        return out;
    }
}
