package ptlab.phys;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import ptlab.cpu.SimCpu;
import ptlab.cpu.ViolationLog;

/**
 * The buddy allocator ({@code mm/page_alloc.c}) over {@link PhysicalMemory}: orders 0 to
 * {@link #MAX_ORDER}, a free list per order, split on allocation and merge with the buddy
 * ({@code pfn ^ (1 << order)}) on free.
 *
 * <p>Memory never handed out is not on any list: a high-water mark {@code untouched} marks
 * where never-used max-order blocks begin, and is carved from when the lists run dry. A
 * max-order block freed just below the mark lowers it again, so freeing everything restores
 * the initial state (empty lists, mark at 0) and host memory stays proportional to use.
 *
 * <p>Order-0 allocations and frees go through a cache per CPU ({@link PerCpuPages}, the
 * kernel's per-CPU pagesets), which takes the zone lock once per batch.
 *
 * <p>Before allocating it runs the checks of {@code might_alloc()}: a may-sleep allocation
 * from an atomic context is a {@code might-sleep} violation; with PREEMPT_RT any allocation
 * inside {@code stop_machine} is one (the allocator's locks sleep there). Then the
 * {@link FaultInjector} may fail it.
 */
public final class BuddyAllocator {
    public static final int MAX_ORDER = 10;
    private static final long NIL = -1;
    private static final long NO_MEMORY = -1;
    private static final long INJECTED = -2;

    private final PhysicalMemory mem;
    private final ViolationLog log;
    private final FaultInjector injector = new FaultInjector();
    /** Guards the lists, the counters, {@link #untouched} and the sections' buddy state. */
    private final ZoneLock zone = new ZoneLock();
    /** The per-CPU caches of order-0 frames, one per CPU that used this allocator. */
    private final ConcurrentHashMap<SimCpu, PerCpuPages> pcps = new ConcurrentHashMap<>();
    private final long[] heads = new long[MAX_ORDER + 1];
    private final long[] counts = new long[MAX_ORDER + 1];
    private long untouched;
    /** Frames off the buddy lists: handed out, or in a per-CPU cache. */
    private long allocatedFrames;
    private long allocations;
    private long frees;
    private volatile boolean preemptRt;
    /** A debug check told of every free; null (the usual case) costs one volatile load per free. */
    private volatile FreeObserver freeObserver;

    public BuddyAllocator(PhysicalMemory mem) {
        this.mem = mem;
        this.log = mem.log();
        java.util.Arrays.fill(heads, NIL);
    }

    public PhysicalMemory memory() {
        return mem;
    }

    public FaultInjector faultInjector() {
        return injector;
    }

    /** With PREEMPT_RT, allocating inside stop_machine (even GFP_ATOMIC) is a violation. */
    public void setPreemptRt(boolean on) {
        preemptRt = on;
    }

    public boolean preemptRt() {
        return preemptRt;
    }

    /**
     * Allocates {@code 2^order} frames.
     *
     * @param site name of the calling site, for fault injection and messages
     */
    public AllocResult allocate(int order, Gfp gfp, String site) {
        long pfn = allocatePfn(order, gfp, site);
        return pfn >= 0 ? new AllocResult.Frames(pfn, order) : new AllocResult.Failed(site, order, pfn == INJECTED);
    }

    /**
     * {@link #allocate} without the result object: the first pfn, or {@link #NO_MEMORY} /
     * {@link #INJECTED}. Cold code (messages) stays in separate methods, so the hot path is
     * small for the JIT.
     */
    private long allocatePfn(int order, Gfp gfp, String site) {
        if (order < 0 || order > MAX_ORDER) {
            throw badOrder(order);
        }
        SimCpu cpu = SimCpu.current();
        mightAlloc(cpu, gfp, site);
        if (injector.shouldFail(site)) {
            return INJECTED;
        }
        if (order == 0) {
            long pfn = pcpOf(cpu).take(this, gfp.movable());
            return pfn >= 0 ? pfn : marked(takeAfterDrain(), gfp);
        }
        return marked(takeLocked(order), gfp);
    }

    /** {@code pfn} (a block just allocated from the zone, or a failure code) after recording its movable flag. */
    private long marked(long pfn, Gfp gfp) {
        if (pfn >= 0) {
            mem.setMovable(pfn, gfp.movable());
        }
        return pfn;
    }

    /**
     * {@code n} order-0 allocations in a row for one site, into {@code into[0..n)}: the same
     * frames in the same order, the same might_alloc checks and fault injection as {@code n}
     * calls of {@link #allocate}. Returns how many succeeded; fewer than {@code n} means the
     * next one failed (injected, or RAM exhausted) and the rest were not tried.
     */
    /*
     * When neither might_alloc can record anything (the context cannot change during the run:
     * one CPU, no lock taken or dropped) nor the injector is armed, the per-allocation checks
     * are no-ops, and the frames come from this CPU's cache under one hold of its lock, with
     * no result object each. Otherwise the run goes one allocation at a time, as before.
     * The 4 GiB write touch of tools/traces/big-4g.trace (1 Mi faults through
     * Faults.faultRun) took 61 ms of thread CPU in a warm JVM with allocate() per page, 45 ms
     * with this (min of 6 replays, two alternating rounds).
     */
    public int allocateSmall(Gfp gfp, String site, long[] into, int n) {
        SimCpu cpu = SimCpu.current();
        boolean quiet = !injector.armed() && !(gfp.maySleep() && cpu.inAtomic()) && !(preemptRt && cpu.inStopMachine());
        int got = 0;
        while (got < n) {
            if (quiet) {
                got += pcpOf(cpu).takeBulk(this, into, got, n - got, gfp.movable());
                if (got == n) {
                    break;
                }
            }
            long pfn = allocatePfn(0, gfp, site); // a cache that could not refill drains all first, as allocate does
            if (pfn < 0) {
                break;
            }
            into[got++] = pfn;
        }
        return got;
    }

    /** This allocator's cache on {@code cpu}: the CPU's one-entry memo, else the map. */
    private PerCpuPages pcpOf(SimCpu cpu) {
        Object memo = cpu.pcpMemo(this);
        if (memo != null) {
            return (PerCpuPages) memo;
        }
        PerCpuPages p = pcps.computeIfAbsent(cpu, c -> new PerCpuPages(PerCpuPages.highFor(mem.frames())));
        cpu.setPcpMemo(this, p);
        return p;
    }

    /** The zone could not refill a CPU's cache: {@code drain_all_pages}, then one frame from the zone. */
    private long takeAfterDrain() {
        drainAll();
        return takeLocked(0);
    }

    /** Returns every CPU's cached frames to the buddy lists ({@code drain_all_pages}). */
    public void drainAll() {
        for (PerCpuPages p : pcps.values()) {
            p.drain(this);
        }
    }

    private static IllegalArgumentException badOrder(int order) {
        return new IllegalArgumentException("order " + order + " outside 0.." + MAX_ORDER);
    }

    /** {@code might_alloc()}: the context checks, recorded as violations. */
    private void mightAlloc(SimCpu cpu, Gfp gfp, String site) {
        if (gfp.maySleep() && cpu.inAtomic()) {
            recordAtomic(gfp, site, cpu);
        } else if (preemptRt && cpu.inStopMachine()) {
            log.record("might-sleep", site + ": " + gfp + " allocation inside stop_machine on PREEMPT_RT (" + cpu + ")");
        }
    }

    private void recordAtomic(Gfp gfp, String site, SimCpu cpu) {
        log.record("might-sleep", site + ": " + gfp + " allocation in atomic context on " + cpu + ": " + cpu.atomicReason());
    }

    private long takeLocked(int order) {
        zone.lock();
        try {
            long pfn = rmqueue(order);
            if (pfn == NIL) {
                return NO_MEMORY;
            }
            allocatedFrames += 1L << order;
            allocations++;
            mem.setRefcount(pfn, 1);
            return pfn;
        } finally {
            zone.unlock();
        }
    }

    /**
     * {@code __rmqueue_smallest} (zone lock held): the smallest non-empty list's head, split
     * down to {@code order}, marked allocated; {@link #NIL} when RAM is exhausted.
     */
    private long rmqueue(int order) {
        int k = order;
        while (k <= MAX_ORDER && heads[k] == NIL) {
            k++;
        }
        long pfn;
        if (k > MAX_ORDER) {
            pfn = carveUntouched();
            if (pfn == NIL) {
                return NIL;
            }
            k = MAX_ORDER;
        } else {
            // Unlink the list head.
            pfn = heads[k];
            Section hs = mem.section(pfn);
            long next = hs.next[PhysicalMemory.offset(pfn)];
            heads[k] = next;
            if (next != NIL) {
                mem.section(next).prev[PhysicalMemory.offset(next)] = NIL;
            }
            counts[k]--;
        }
        // Split: keep the lower half, push the upper halves on their (empty) lists.
        while (k > order) {
            k--;
            long upper = pfn + (1L << k);
            Section us = mem.sectionForWrite(upper);
            int uoff = PhysicalMemory.offset(upper);
            us.state[uoff] = Section.FREE_HEAD;
            us.order[uoff] = (byte) k;
            us.prev[uoff] = NIL;
            us.next[uoff] = NIL; // the list of order k was empty, or it would have been taken
            heads[k] = upper;
            counts[k]++;
        }
        Section s = mem.sectionForWrite(pfn);
        int off = PhysicalMemory.offset(pfn);
        s.state[off] = Section.ALLOCATED_HEAD;
        s.order[off] = (byte) order;
        return pfn;
    }

    /** Installs the debug check told of every {@link #free} ({@code null} removes it). */
    public void setFreeObserver(FreeObserver o) {
        freeObserver = o;
    }

    /** Frees a block that {@link #allocate} returned, with the same order. */
    public void free(long pfn, int order) {
        mem.checkPfn(pfn);
        FreeObserver o = freeObserver;
        if (o != null) {
            o.freeing(pfn, order);
        }
        if (order == 0) {
            pcpOf(SimCpu.current()).give(this, pfn);
            return;
        }
        zone.lock();
        try {
            Section s = mem.section(pfn);
            int off = PhysicalMemory.offset(pfn);
            if (s == null || s.state[off] != Section.ALLOCATED_HEAD || s.order[off] != order) {
                throw badFree(s, off, pfn, order);
            }
            s.state[off] = Section.UNUSED;
            s.refcount[off] = 0;
            mem.poisonFreed(pfn, order);
            allocatedFrames -= 1L << order;
            frees++;
            release(pfn, order);
        } finally {
            zone.unlock();
        }
    }

    /**
     * Frees the order-0 blocks {@code pfns[0..n)} as {@link #free} would one by one, through
     * this CPU's cache under one hold of its lock: the kernel's batched free of an mmu_gather's
     * pages ({@code free_pages_and_swap_cache} → {@code free_unref_folios}).
     */
    public void freeBulk(long[] pfns, int n) {
        if (n == 0) {
            return;
        }
        FreeObserver o = freeObserver;
        for (int i = 0; i < n; i++) {
            mem.checkPfn(pfns[i]);
            if (o != null) {
                o.freeing(pfns[i], 0);
            }
        }
        pcpOf(SimCpu.current()).giveAll(this, pfns, n);
    }

    /* ---- per-CPU caches (PerCpuPages calls these under its own lock) ---- */

    /** {@code rmqueue_bulk}: up to {@code n} order-0 frames into {@code into[0..m)}, first taken last; returns m. */
    int rmqueueBulk(long[] into, int n) {
        zone.lock();
        try {
            int m = 0;
            while (m < n) {
                long pfn = rmqueue(0);
                if (pfn == NIL) {
                    break;
                }
                Section.STATE.setOpaque(mem.section(pfn).state, PhysicalMemory.offset(pfn), Section.PCP);
                into[m++] = pfn;
            }
            allocatedFrames += m;
            for (int i = 0, j = m - 1; i < j; i++, j--) {
                long t = into[i];
                into[i] = into[j];
                into[j] = t;
            }
            return m;
        } finally {
            zone.unlock();
        }
    }

    /** A cached frame handed out: allocated order-0 block, one reference. */
    void markAllocated(long pfn, boolean movable) {
        Section s = mem.section(pfn);
        int off = PhysicalMemory.offset(pfn);
        s.order[off] = 0;
        s.movable[off] = movable ? (byte) 1 : 0;
        Section.STATE.setOpaque(s.state, off, Section.ALLOCATED_HEAD);
        PhysicalMemory.setRefcount(s, off, 1);
    }

    /** A freed order-0 frame going into a cache; throws, changing nothing, if it is not an allocated order-0 block. */
    void markCached(long pfn) {
        Section s = mem.section(pfn);
        int off = PhysicalMemory.offset(pfn);
        if (s == null || (byte) Section.STATE.getOpaque(s.state, off) != Section.ALLOCATED_HEAD || s.order[off] != 0) {
            throw badFree(s, off, pfn, 0);
        }
        s.refcount[off] = 0;
        mem.poisonFreed(pfn, 0);
        Section.STATE.setOpaque(s.state, off, Section.PCP);
    }

    /** {@code free_pcppages_bulk}: the cached frames {@code pfns[0..n)} back to the buddy lists. */
    void releaseBulk(long[] pfns, int n) {
        zone.lock();
        try {
            for (int i = 0; i < n; i++) {
                long pfn = pfns[i];
                Section.STATE.setOpaque(mem.section(pfn).state, PhysicalMemory.offset(pfn), Section.UNUSED);
                release(pfn, 0);
            }
            allocatedFrames -= n;
        } finally {
            zone.unlock();
        }
    }

    private static InvalidFrameException badFree(Section s, int off, long pfn, int order) {
        if (s == null || s.state[off] != Section.ALLOCATED_HEAD) {
            return new InvalidFrameException("free of pfn 0x" + Long.toHexString(pfn) + " which is not allocated (double free?)");
        }
        return new InvalidFrameException("free of pfn 0x" + Long.toHexString(pfn) + " with order " + order
                + " but it was allocated with order " + s.order[off]);
    }

    /* ---- lists (all under the zone lock) ---- */

    /** A never-used max-order block from the high-water mark, or {@link #NIL} when RAM is exhausted. */
    private long carveUntouched() {
        if (untouched + (1L << MAX_ORDER) > mem.frames()) {
            return NIL;
        }
        long pfn = untouched;
        untouched += 1L << MAX_ORDER;
        return pfn;
    }

    private void release(long pfn, int order) {
        int k = order;
        while (k < MAX_ORDER) {
            long buddy = pfn ^ (1L << k);
            if (buddy >= untouched) {
                break;
            }
            Section bs = mem.section(buddy);
            int boff = PhysicalMemory.offset(buddy);
            if (bs == null || (byte) Section.STATE.getOpaque(bs.state, boff) != Section.FREE_HEAD || bs.order[boff] != k) {
                break; // allocated, in a CPU's cache (PCP), part of a larger block, or free at another order
            }
            unlink(buddy, k);
            bs.state[boff] = Section.UNUSED;
            pfn = Math.min(pfn, buddy);
            k++;
        }
        if (k == MAX_ORDER && pfn + (1L << MAX_ORDER) == untouched) {
            untouched = pfn;
            // Absorb max-order free blocks that now sit just below the mark.
            while (untouched > 0) {
                long below = untouched - (1L << MAX_ORDER);
                Section bs = mem.section(below);
                int boff = PhysicalMemory.offset(below);
                if (bs == null || bs.state[boff] != Section.FREE_HEAD || bs.order[boff] != MAX_ORDER) {
                    break;
                }
                unlink(below, MAX_ORDER);
                bs.state[boff] = Section.UNUSED;
                untouched = below;
            }
            return;
        }
        push(pfn, k);
    }

    private void push(long pfn, int k) {
        Section s = mem.sectionForWrite(pfn);
        int off = PhysicalMemory.offset(pfn);
        s.state[off] = Section.FREE_HEAD;
        s.order[off] = (byte) k;
        s.prev[off] = NIL;
        s.next[off] = heads[k];
        if (heads[k] != NIL) {
            mem.section(heads[k]).prev[PhysicalMemory.offset(heads[k])] = pfn;
        }
        heads[k] = pfn;
        counts[k]++;
    }

    private void unlink(long pfn, int k) {
        Section s = mem.section(pfn);
        int off = PhysicalMemory.offset(pfn);
        long n = s.next[off];
        long p = s.prev[off];
        if (p == NIL) {
            heads[k] = n;
        } else {
            mem.section(p).next[PhysicalMemory.offset(p)] = n;
        }
        if (n != NIL) {
            mem.section(n).prev[PhysicalMemory.offset(n)] = p;
        }
        counts[k]--;
    }

    /* ---- statistics ---- */

    /** Frames handed out and not freed (frames in the per-CPU caches are free). */
    public long allocatedFrames() {
        long cached = 0;
        for (PerCpuPages p : pcps.values()) {
            cached += p.count();
        }
        zone.lock();
        try {
            return allocatedFrames - cached;
        } finally {
            zone.unlock();
        }
    }

    public long freeFrames() {
        return mem.frames() - allocatedFrames();
    }

    public long allocations() {
        long n = 0;
        for (PerCpuPages p : pcps.values()) {
            p.lock.lock();
            n += p.allocations;
            p.lock.unlock();
        }
        zone.lock();
        try {
            return n + allocations;
        } finally {
            zone.unlock();
        }
    }

    public long frees() {
        long n = 0;
        for (PerCpuPages p : pcps.values()) {
            p.lock.lock();
            n += p.frees;
            p.lock.unlock();
        }
        zone.lock();
        try {
            return n + frees;
        } finally {
            zone.unlock();
        }
    }

    /** Free blocks per order, then the untouched mark: the allocator's whole free state (caches drained first). */
    public List<Long> freeState() {
        drainAll();
        List<Long> out = new ArrayList<>();
        zone.lock();
        try {
            for (int k = 0; k <= MAX_ORDER; k++) {
                out.add(counts[k]);
            }
            out.add(untouched);
        } finally {
            zone.unlock();
        }
        return out;
    }

    /** The pfns on the free list of {@code order}, in list order (for tests and the checker). */
    public List<Long> freeList(int order) {
        drainAll();
        List<Long> out = new ArrayList<>();
        zone.lock();
        try {
            for (long p = heads[order]; p != NIL; p = mem.section(p).next[PhysicalMemory.offset(p)]) {
                out.add(p);
            }
        } finally {
            zone.unlock();
        }
        return out;
    }

    /** Whether {@code pfn} lies inside some free block (for the checker: no reachable frame is free). */
    public boolean isFree(long pfn) {
        mem.checkPfn(pfn);
        zone.lock();
        try {
            if (pfn >= untouched) {
                return true;
            }
            Section own = mem.section(pfn);
            if (own != null && (byte) Section.STATE.getOpaque(own.state, PhysicalMemory.offset(pfn)) == Section.PCP) {
                return true; // in a CPU's cache
            }
            for (int k = 0; k <= MAX_ORDER; k++) {
                long head = pfn & -(1L << k);
                Section s = mem.section(head);
                if (s != null && s.state[PhysicalMemory.offset(head)] == Section.FREE_HEAD && s.order[PhysicalMemory.offset(head)] == k) {
                    return true;
                }
            }
            return false;
        } finally {
            zone.unlock();
        }
    }
}
