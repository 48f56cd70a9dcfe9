package ptlab.mmu;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.ConcurrentLinkedQueue;
import ptlab.arch.Level;
import ptlab.cpu.SimCpu;
import ptlab.pgtable.Mm;

/**
 * One simulated CPU's MMU: its TLB, its current mm and ASID, its CPU controls, and the mailbox
 * through which other CPUs' shootdowns reach it. Everything but the mailbox, the hit path's
 * tag (which a flusher poisons) and the online/ASID words is touched only by the CPU's own thread.
 *
 * <p>Hot loop: {@link #translatePa} returns a physical address or a negative fault word
 * ({@link Translation#isFault}); {@link #translate} is the typed form. A CPU that runs no
 * translations for a while must call {@link #poll} (or {@link #leave}) so that shootdowns
 * complete: that is its interrupt check. Calls of {@code ptlab.mm.Process} made on the CPU's
 * thread leave for it ({@link Mmu#leaveCallingCpu}): they may block on a lock whose holder waits
 * for this CPU's ack.
 */
/*
 * Implementation notes.
 *
 * TLB: one direct-mapped set per level that may hold leaves (the base-page set is fields of
 * this class, the block sets are BlockSet objects). A key is the whole page number of the
 * address, {@code va >>> shift} (at most 52 bits: every bit of the va above the page offset),
 * OR-ed with the ASID at bit 52, or with the reserved tag 0xFFF for global entries. A hit
 * needs the key (own ASID or global) and the right bit; a right that is missing falls through
 * to the walk, which may then update the dirty state and refill (a store through an entry
 * filled by a load).
 *
 * Why the whole page number: the key then tells every (va, ASID) pair apart, and only the
 * slow path fills, after its canonical check, so a non-canonical address never matches a key
 * and the hit path needs no canonical check of its own. Folding the VPN to vaBits+1 bits
 * (the layout before 2026-11-22, which left room for 16-bit ASIDs) made two addresses that
 * differ only above bit vaBits share a key, so every hit had to test canonicality: 0.3-0.4 ns
 * of a 3 ns hit (H harness, min of 30 rounds, alternating builds). The price is 12-bit ASIDs,
 * x86's PCID width; Mmu reuses the ASIDs of dead mms and rolls over when none is left (see its notes).
 *
 * Layout: a set is one long[] of pairs [key, pa | rights]: entry i is words 2i and 2i+1, so a
 * lookup touches one host cache line (mostly: the JVM aligns arrays to 8 bytes, so a 16-byte
 * pair may straddle two lines). Three parallel arrays cost three lines per lookup, which
 * dominated random accesses over a TLB larger than the host caches. The rights (Rights.ALL,
 * bits 0-5) live in the page-offset bits of the pa, which are zero: the pa is aligned to the
 * entry size, at least the 4 KiB granule. An empty entry has key EMPTY.
 *
 * Tried and not kept (2026-11-22): one word per entry for large base sets, [ASID | the page
 * number above the set index | pfn | rights], where it fits (4-level x86-64 with 2^18 entries
 * and 4 GiB of RAM: 12 + 18 + 20 + 6 bits). A bare lookup of such a 2 MiB table ran random 1
 * GiB accesses in 4.0-4.5 ns against 7.5-8.3 for the 4 MiB table of pairs. But translatePa
 * with it, behind a layout test in the fast path (the tag's extraction, a canonical test the
 * truncated tag needs, the pfn's shift: six more field loads per translation), took 9.7-17 ns
 * against 7.0-8.3 with pairs, and TLB hits on the pair layout got dearer (3.2-3.4 against
 * 3.05-3.3), in three alternating JMH runs each. TlbDifferentialTest's aliased pages come from it.
 *
 * Emptied entries: an invalidation clears the pa word as well as the key. A fill writes the
 * key, then the pa; another thread reading the pair in between (FreedFrameCheck) thus sees a
 * pa of 0 with no rights, never the pa of an entry a flush already removed.
 *
 * Fast path: the base set only. The slow path then probes the set of the smallest block size
 * (2M with 4K granules) first, with the tag the fast path loaded, so a THP hit (an emulator's
 * guest RAM is usually THP: QEMU madvises it MADV_HUGEPAGE) costs the call and one probe
 * more than a base hit, and none of the checks below. JMH MmuBench (-f 2 -wi 3 -i 5, three
 * alternating pairs of runs against 9fce876 on a quiet spell, 2026-11-22, medians):
 * random1GiBThp 8.13-8.21 -> 7.15-7.33 ns, tlbHit 2.76-3.04 -> 2.77-3.12, tlbMissWalk4Level
 * 19.0-20.6 -> 19.0-22.1 (noise; the probe is skipped while blockFills is 0). The same probe
 * inlined in the fast path, after the base probe, made THP hits cheaper still (5.6-6.5) but
 * every base hit dearer: the minimum of tlbHit's iterations was 3.15-3.52 ns in five
 * alternating pairs against 2.77-3.19, over the hit goal of 3 ns; not kept.
 *
 * Set prediction (2026-11-22, later): the fast path probes one of two sets, the base set or
 * the smallest block size's (fTlb), and the slow path's first probe the other, both with the
 * tag the fast path loaded; after SWAP_AFTER hits of that first probe with no fill of the fast
 * path's own set between them, the two change places. A hardware TLB's way prediction, in
 * software: any set may answer a lookup (an entry is a valid cached translation whichever set
 * holds it, and the hit test is the same), so the choice changes only the cost. Guest RAM on
 * THP then hits in the fast path, as base pages do: random accesses over a GiB of THP in
 * JMH MmuBench (-f 1 -wi 3 -i 5, three alternating pairs of runs against the jar before,
 * medians) went from 5.9-7.5 ns to 2.55-2.93; tlbHit 2.82-3.17 before, 2.84-3.05 after;
 * tlbMissWalk4Level 19.1-23.6 before, 19.3-21.4 after. The fast path loads the set's four
 * fields as it loaded the base set's (C2 treats neither as constants). A mix of both kinds of page changes sets every
 * SWAP_AFTER first-probe hits at most, so each kind reaches the slow path about as often as
 * it takes the fast one while the other is predicted: with a fraction f of THP accesses, about
 * 2f(1 - f) of all translations take the slow path's first probe, against f with the base set
 * always first (more for f < 1/2, less above). The pa of a first-probe hit is computed before
 * a swap: the swap changes the offset mask (TlbDifferentialTest's bursts failed without that).
 *
 * Slow path order: the smallest block size (above, or the base set when the fast path has the blocks), then pending shootdowns (drain() if the
 * tag is poisoned or `requested` moved), the canonical check, then the block sets (skipped
 * until a block entry was ever filled), the base set again only if a drain ran (the fast
 * path's probe had the poisoned tag), then the walk from the cached root (X86Walker on x86-64,
 * which falls back to HardwareWalker; the branch on the null field goes the same way on every
 * miss of a machine). Probing the block sets ahead of the walk took random THP accesses from
 * 15-20 to 8.7-9.4 ns (2026-11); the first probe above, ahead of the checks, to 7.2-7.3.
 *
 * Shootdown protocol (the IPI analogue). A flusher enqueues its request in every other CPU's
 * inbox, then bumps that CPU's `requested` counter (volatile), then poisons that CPU's ASID tag
 * (volatile write of POISON_TAG, which matches no key), then reads its `activeAsid`
 * (volatile). The CPU reads its tag (opaque) for every translation: poisoned, nothing hits and
 * the slow path drains the inbox, publishes `acked`, and restores the tag (volatile), then
 * reads `requested` again (volatile) and drains again if it moved: a flusher whose poison the
 * restore overwrote bumped `requested` before poisoning, so by the volatile total order either
 * the restore came first (the tag stays poisoned) or the second read sees the bump.
 * switchMm writes activeAsid before draining, so by the
 * volatile total order either the flusher sees the CPU running the mm and waits for its ack, or
 * the CPU's drain sees the request: no translation ever uses an entry a completed flush
 * removed. The flusher waits only for CPUs online in the flushed ASID (or every online CPU
 * for global flushes): they may be inside a walk of the tables about to be freed, and the ack
 * comes only between translations. Offline CPUs (lazy TLB) apply the request before their next
 * translation. While waiting, a flusher that is itself a CPU drains its own inbox, so two
 * CPUs flushing each other cannot deadlock.
 *
 * Offline CPUs do not walk (2026-11-22; LazyTlbExitTest): leave() leaves the tag poisoned
 * (drain restores it only while online), so a translation after leave() takes the slow path,
 * which first brings the CPU online (rejoin: activeAsid, online, drain, as switchMm does).
 * Before, an offline CPU could walk while a flusher that did not wait for it freed the tables
 * under the walk (the RCU grace period does not cover a hardware walk). The same order covers
 * exit: destroyMm marks the mm dead, then Mmu posts an MM flush of its ASID and waits for the
 * CPUs online in it (the lazy-TLB shootdown), then frees the PGD; a CPU that read "not dead"
 * just before is inside a walk the flusher waits for, and one that comes later sees the mark
 * after its drain and switches to init_mm (leave_mm). Without the shootdown, a walk read the
 * freed PGD in the first rounds of that test; without the rejoin, the lower tables.
 *
 * Cost on the hot path: nothing beyond the key compare, which needs the tag anyway; the tag's
 * load is opaque. Opaque, not acquire: the hit path reads only owner-written TLB words, so it
 * needs no ordering after the load, only the load itself (never hoisted out of an emulator's
 * loop, and a poison eventually seen: opaque's coherence and progress). Seeing it late is
 * allowed: the flusher is still waiting for this CPU's ack, so the flush has not completed
 * and the audit does not count the hit as stale. drain() reads with acquire, for the inbox.
 * An acquire load here made C2 reload every field after it on every translation: 4.1-6.5 ns
 * per hit against 3.1-4.2 ns (a plain loop over 256 hot addresses, alternating builds).
 * Before the poisoned tag (2026-11-22) the hit read `requested` opaquely and compared it with
 * `seen`: a load and a compare more, 0.15-0.2 ns of a 2.5-3 ns hit (H harness, alternating).
 * The global-key compare stays on the hit path, out of line (taken only when the own-ASID
 * compare fails) and gated on the same tag load: a global entry must not hit while a flush
 * is pending either.
 *
 * Hit path in machine code (2026-11-22, perf annotate of MmuBench.tlbHit's batch loop inlined
 * into a plain harness, C2): about 58 instructions per hit. Of those, 11 are stack traffic
 * the slowPath call causes: the call is in the loop, the hit path rejoins after it, and C2
 * keeps the loop's sum, counter and the call's arguments in stack slots, stored and reloaded
 * every iteration; 3 are range checks (hot[], t[i], t[i + 1]); the CpuMmu fields (bTlb,
 * vaMask, baseShift, bMask, asidTag, requested, seen, topShift, baseOffset) are reloaded every
 * iteration, independent loads off the critical path (va, vpn, index, key, compare). The
 * global-key compare is out of line (never taken for a user page). Tried: both TLB indices
 * masked with t.length - 1 ({@code t[x & m]}, {@code t[(x | 1) & m]}), which removes both
 * range checks and the bMask load (56 instructions): hits 3.65-3.77 ns against 3.39 (min of 30
 * rounds, plain loop, alternating builds): no gain, reverted.
 * JMH the same day (-f 2 -wi 3 -i 5, load about 2): tlbHit 6.9 +- 2.3 ns (iterations
 * 4.1-8.4), tlbHitSingleCall 5.0 +- 2.0 (3.9-7.6, JMH's per-invocation cost included): the
 * batched loop is no cheaper per hit than one call per invocation, so the stack traffic
 * around the slowPath call in the batch loop (above) is what it measures beyond the lookup.
 *
 * What each check of the hit costs (2026-11-22, later): a plain loop of 256 translations per
 * call, thread CPU time, min of 30 rounds, builds alternated, with the bare lookup of a
 * direct-mapped [vpn, pa | 1] table in the same loop as the floor (MmuBench.tlbHitFloor):
 * floor 1.9-2.0 ns, translatePa 3.0-3.1. Removing one check at a time (experiments, not
 * kept): the canonical check 2.6-2.7, the shootdown check 2.85-2.9, the global-key compare
 * 3.0; all three 2.4. Random 4K accesses over a GiB through the 2^18-entry TLB: 7.4-8.9 ns,
 * without the three checks 6.3-6.6. The canonical check went with the whole-page-number keys
 * (above): hits 2.45-2.68 ns against 2.98-3.06, random 6.6-7.1 against 7.7-8.2 (three
 * alternating pairs of runs). The shootdown check then became the poisoned tag (protocol
 * notes above). JMH MmuBench, -f 2 -wi 3 -i 6, jars of 5fd84d7 (before both) and of this
 * code alternated twice, median of iterations: tlbHit 3.59 and 4.27 ns before, 2.93 and 3.11
 * after; random1GiB4KEmulatorTlb 8.46 and 13.67 before, 6.46 and 7.51 after;
 * tlbMissWalk4Level 20.1-21.6 before, 20.3-21.0 after.
 */
public final class CpuMmu {
    private static final VarHandle REQUESTED;
    private static final VarHandle ACKED;
    private static final VarHandle TAG;

    static {
        try {
            MethodHandles.Lookup l = MethodHandles.lookup();
            REQUESTED = l.findVarHandle(CpuMmu.class, "requested", long.class);
            ACKED = l.findVarHandle(CpuMmu.class, "acked", long.class);
            TAG = l.findVarHandle(CpuMmu.class, "tag", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    static final int ASID_SHIFT = 52;
    /** The page-number bits of a key: below the ASID. */
    static final long VPN_BITS = (1L << ASID_SHIFT) - 1;
    static final int GLOBAL_ASID = 0xFFF;
    static final long GLOBAL_TAG = (long) GLOBAL_ASID << ASID_SHIFT;
    /** The largest ASID an mm gets: 0xFFE is the empty key's, 0xFFF the global tag. */
    static final int MAX_ASID = 0xFFD;
    /** The key of an empty entry: page 0 under ASID 0xFFE, which no mm gets, so no lookup key equals it. */
    static final long EMPTY = 0xFFEL << ASID_SHIFT;
    /**
     * The tag a flusher leaves in a CPU's {@code tag}: no hit while it is there. {@code vpn |
     * POISON_TAG} equals only EMPTY (for page 0), an empty entry's pa word is 0 and grants nothing.
     */
    static final long POISON_TAG = EMPTY;
    /** The bits of an entry's second word that hold its rights; the rest is the pa. */
    static final long RIGHTS_BITS = Rights.ALL;
    /** Hits of the slow path's first probe, with no fill of the fast path's set between, after which the two swap. */
    static final int SWAP_AFTER = 64;

    private final Mmu mmu;
    private final int id;
    private final HardwareWalker walker;
    /** The x86-64 walk, null elsewhere: slowPath and auditWalk walk through it when it is set. */
    private final X86Walker x86Walker;
    private final WalkResult scratch = new WalkResult();
    private final int topShift;
    private final boolean splitRoots;

    /* ---- TLB: base-page set ---- */
    private final int baseShift;
    private final long baseOffset;
    private final int baseIndex;
    /** Pairs [key, pa | rights], see the notes. */
    private final long[] bTlb;
    private final int bMask;
    /** Block sets, smallest first; {@code setOf[levelIndex]} for the fill. */
    private final BlockSet[] blocks;
    private final BlockSet[] setOf;
    /**
     * The smallest block size's set (x86-64 and 4K-granule arm64/RISC-V: 2M), which the slow
     * path probes first; a one-entry empty set where no level below the root may hold leaves.
     * Fields, like the base set's, so that probe loads no BlockSet.
     */
    private final long[] fTlb;
    private final int fShift;
    private final long fOffset;
    private final int fMask;
    /*
     * The two sets the fast path and the slow path's first probe look at: the predicted set
     * (p*) is the fast path's, the other (o*) the first probe's. The base set and fTlb, in
     * one order or the other: see "Set prediction" in the notes. Owner only.
     */
    private long[] pTlb;
    private int pShift;
    private long pOffset;
    private int pMask;
    private long[] oTlb;
    private int oShift;
    private long oOffset;
    private int oMask;
    /** Translations the slow path's first probe answered since the last swap or own-set fill (owner only). */
    private int otherHits;

    /* ---- current context ---- */
    /** Volatile: Mmu reads it from other threads before it reuses a dead mm's ASID. */
    private volatile MmContext current;
    /** The ASID tag of the current mm (owner only): fills, and the slow path's probes. */
    private long asidTag;
    /**
     * What the hit path compares keys with: {@link #asidTag}, or {@link #POISON_TAG} while a
     * shootdown is pending. Written by the owner and by flushers, through {@link #TAG} only.
     */
    @SuppressWarnings("unused") // through TAG
    private volatile long tag;
    /** Root of the current mm's tables (split roots: its user half); before the first switchMm, as rootFor. */
    private long userRoot;
    /** init_mm's root: TTBR1 on arm64, and the root of a CPU that never switched mm elsewhere. */
    private final long kernelRoot;
    /** Block entries ever filled (owner only): while 0, a miss does not probe the block sets. */
    private long blockFills;
    private Controls controls;

    /* ---- mailbox ---- */
    private final ConcurrentLinkedQueue<FlushRequest> inbox = new ConcurrentLinkedQueue<>();
    @SuppressWarnings("unused") // through REQUESTED
    private volatile long requested;
    @SuppressWarnings("unused") // through ACKED
    private volatile long acked;
    /** Owner-only copy of the last {@code requested} drained. */
    private long seen;
    /** ASID this CPU runs while online; 0 when offline. Written by the owner, read by flushers. */
    volatile int activeAsid;
    volatile boolean online;
    /** The thread that last switched this CPU's mm: its own flushes apply locally instead of waiting for itself. */
    volatile Thread owner;

    /* ---- statistics (owner only) ---- */
    private long misses;
    private long faults;
    private long flushesApplied;
    private long predictionSwaps;

    /** Direct-mapped TLB set for blocks of one size. */
    static final class BlockSet {
        final int levelIndex;
        final int shift;
        /** Pairs [key, pa | rights], as the base-page set. */
        final long[] tlb;
        final int mask;

        BlockSet(int levelIndex, int shift, int entries) {
            this.levelIndex = levelIndex;
            this.shift = shift;
            tlb = newSet(entries);
            mask = entries - 1;
        }
    }

    /** An empty set of {@code entries} pairs. */
    static long[] newSet(int entries) {
        long[] t = new long[2 * entries];
        for (int i = 0; i < t.length; i += 2) {
            t[i] = EMPTY;
        }
        return t;
    }

    /** Empties every entry of a set (the pa word too: see "Emptied entries" in the notes). */
    private static void clearSet(long[] t) {
        for (int i = 0; i < t.length; i += 2) {
            t[i] = EMPTY;
            t[i + 1] = 0;
        }
    }

    CpuMmu(Mmu mmu, int id, HardwareWalker walker, X86Walker x86Walker, int baseEntries, int blockEntries) {
        this.mmu = mmu;
        this.id = id;
        this.walker = walker;
        this.x86Walker = x86Walker;
        int vaBits = mmu.arch().geometry().vaBits();
        this.splitRoots = !mmu.arch().sharesKernelHalf();
        this.topShift = splitRoots ? vaBits : vaBits - 1;
        int n = walker.levelCount();
        this.baseIndex = n - 1;
        this.baseShift = Long.numberOfTrailingZeros(walker.entrySize(baseIndex));
        this.baseOffset = (1L << baseShift) - 1;
        this.bTlb = newSet(baseEntries);
        this.bMask = baseEntries - 1;
        this.setOf = new BlockSet[n];
        java.util.List<BlockSet> bs = new java.util.ArrayList<>();
        java.util.List<Level> levels = mmu.arch().geometry().levels();
        for (int i = n - 2; i >= 0; i--) {
            if (mmu.arch().geometry().leafAllowed(levels.get(i))) {
                BlockSet s = new BlockSet(i, Long.numberOfTrailingZeros(walker.entrySize(i)), blockEntries);
                setOf[i] = s;
                bs.add(s);
            }
        }
        this.blocks = bs.toArray(new BlockSet[0]);
        BlockSet first = blocks.length > 0 ? blocks[0] : new BlockSet(-1, 63, 1);
        this.fTlb = first.tlb;
        this.fShift = first.shift;
        this.fOffset = (1L << first.shift) - 1;
        this.fMask = first.mask;
        predictBase(true);
        this.controls = Controls.LINUX;
        this.kernelRoot = mmu.kernelRoot();
        this.userRoot = splitRoots ? -1 : kernelRoot;
    }

    /** The simulated CPU's number ({@code smp_processor_id()}). */
    public int id() {
        return id;
    }

    /** The machine's MMU this CPU is attached to. */
    public Mmu mmu() {
        return mmu;
    }

    /* ---- context ---- */

    /**
     * {@code switch_mm}: makes {@code mm} current (its ASID tags new entries; entries of other
     * ASIDs stay, as with PCID/ASIDs) and puts this CPU online. {@code null}: a kernel thread
     * on init_mm's tables. Must run on this CPU's thread.
     */
    public void switchMm(Mm mm) {
        if (mm != null && mm.isDead()) {
            throw exited(mm);
        }
        Mm target = mm == null ? mmu.pageTables().initMm() : mm;
        MmContext ctx;
        do {
            ctx = mmu.context(target);
            current = ctx; // volatile, then the valid read: an ASID rollover either sees this CPU run ctx or retired it before
        } while (!ctx.valid);
        ptlab.phys.PageDesc pgd = ctx.mm.pgd();
        if (pgd == null) {
            // Its exit() finished after the check above (a caller's bug: Linux pins the mm):
            // init_mm instead, so that current and the ASID tag agree again.
            leaveDeadMm();
            throw exited(mm);
        }
        asidTag = (long) ctx.asid << ASID_SHIFT;
        userRoot = mmu.pageTables().pa(pgd);
        goOnline(ctx.asid);
        if (ctx.mm.isDead()) {
            // An exit() raced this switch (a caller's bug: Linux pins the mm): it saw this CPU
            // run the mm and waited for the drain above, or the drain saw its shootdown.
            // Either way the PGD may be gone: run init_mm, as if the switch came first.
            leaveDeadMm();
            throw exited(mm);
        }
    }

    /** The refusal of a switch to an mm that has exited. */
    private static IllegalStateException exited(Mm mm) {
        return new IllegalStateException(mm + " has exited: no CPU can switch to it");
    }

    /**
     * Back online after {@link #leave} (a return to user mode on the mm still current): as
     * switchMm's second half, so flushers wait for this CPU's walks again. On an mm that died
     * meanwhile, init_mm instead ({@code leave_mm}). Owner thread only, from the slow path.
     */
    private void rejoin() {
        MmContext cur = current;
        if (cur != null && cur.mm.isDead()) {
            switchMm(null);
            return;
        }
        goOnline(cur == null ? 0 : cur.asid); // leave() set activeAsid 0: unchanged without a context
    }

    /**
     * The online half of {@code switch_mm}, for switchMm and rejoin: flushers of {@code asid}
     * wait for this CPU from here, then the drain (the order the protocol notes rely on).
     */
    private void goOnline(int asid) {
        owner = Thread.currentThread();
        activeAsid = asid; // volatile: before the drain, see the protocol notes
        online = true;
        drain();
    }

    /** {@code leave_mm}: init_mm instead of a freed mm, online or not as before. Owner thread only. */
    private void leaveDeadMm() {
        boolean wasOnline = online;
        switchMm(null);
        if (!wasOnline) {
            leave();
        }
    }

    /**
     * Goes offline (idle, or about to block in kernel code): flushers stop waiting for this CPU.
     * Its mm stays current (lazy TLB); a translation brings it back online first, so call this
     * again before blocking.
     */
    public void leave() {
        online = false;
        activeAsid = 0;
        drain();
    }

    /** The context this CPU runs (lazily too, after {@link #leave}), or {@code null}. Any thread. */
    MmContext currentContext() {
        return current;
    }

    /** The mm whose user half this CPU translates, or {@code null}. */
    public Mm currentMm() {
        return current == null ? null : current.mm;
    }

    public void setControls(Controls c) {
        controls = c;
    }

    public Controls controls() {
        return controls;
    }

    /**
     * Whether this CPU is offline with shootdowns queued that it has not applied yet: it applies
     * them before its next translation (x86's lazy TLB catching up on tlb_gen), so its cached
     * entries cannot be used stale. Read by the audit from another thread.
     */
    boolean offlineWithQueuedFlushes() {
        return !online && hasQueuedFlushes();
    }

    /**
     * Whether shootdowns are queued for this CPU that it has not applied yet: it applies them
     * before its next translation (the check in translatePa) and on switchMm, so no entry they
     * remove can be used again. Read by FreedFrameCheck from another thread.
     */
    boolean hasQueuedFlushes() {
        return (long) REQUESTED.getAcquire(this) != acked;
    }

    /**
     * Whether a request queued on this CPU and not applied yet drops the entry for
     * [{@code va}, {@code last}] tagged {@code asid}: the CPU applies it before it translates
     * again, so the entry is never used. For the audit, from another thread at a quiescent point.
     */
    boolean queuedFlushDrops(long va, long last, int asid) {
        for (FlushRequest r : inbox) {
            if (drops(r, va, last, asid)) {
                return true;
            }
        }
        return false;
    }

    /** Handles pending shootdowns: the interrupt check of a CPU that is not translating. */
    public void poll() {
        if (flushPosted()) {
            drain();
            MmContext cur = current;
            if (cur != null && cur.mm.isDead()) {
                leaveDeadMm(); // the exit's shootdown reached a CPU still on the mm: leave_mm, as x86's lazy CPUs do
            }
        }
    }

    /** Whether a flusher posted since the last drain (opaque loads: drain() acquires). Owner only. */
    private boolean flushPosted() {
        return (long) REQUESTED.getOpaque(this) != seen || (long) TAG.getOpaque(this) == POISON_TAG;
    }

    /* ---- translation: the hot path ---- */

    /**
     * Whether the entry [key, value] translates page number {@code vpn} under {@code tag} and
     * grants {@code need}: the one compare of every probe, the fast path's included.
     * Small enough for C2 to inline everywhere (MaxInlineSize).
     */
    private static boolean hit(long key, long value, long vpn, long tag, int need) {
        return keyMatches(key, vpn, tag) && (value & need) != 0;
    }

    /**
     * Whether {@code key} is page number {@code vpn} under the ASID tagged {@code tag}, or global.
     * With {@code tag} {@link #POISON_TAG} (a shootdown pending) nothing matches: the own-ASID
     * compare could equal only an empty entry, and the global compare is gated. The global
     * compare is the second operand of ||, so C2 lays it out of line, after the usual hit.
     */
    private static boolean keyMatches(long key, long vpn, long tag) {
        return key == (vpn | tag) || (key == (vpn | GLOBAL_TAG) && tag != POISON_TAG);
    }

    /** The physical address for an access, or a negative fault word ({@link Translation#faultOf}). */
    public long translatePa(long va, AccessKind kind, Privilege priv) {
        int need = Rights.need(kind, priv);
        // Fast path, kept small enough to inline into the emulator's loop: a base-page hit with
        // no shootdown pending (a non-canonical address never hits: see the notes on keys).
        // Everything else goes to slowPath, which gets the tag this load read.
        long vpn = va >>> pShift;
        long[] t = pTlb;
        int i = ((int) vpn & pMask) << 1;
        long k = t[i];
        long v = t[i + 1];
        long tag = (long) TAG.getOpaque(this);
        if (hit(k, v, vpn, tag, need)) {
            return (v & ~RIGHTS_BITS) | (va & pOffset);
        }
        return slowPath(va, need, kind, tag);
    }

    /**
     * Makes the base set the fast path's ({@code base}) or the smallest block size's set, and
     * the other one the slow path's first probe. Owner only.
     */
    private void predictBase(boolean base) {
        otherHits = 0;
        if (base) {
            pTlb = bTlb; pShift = baseShift; pOffset = baseOffset; pMask = bMask;
            oTlb = fTlb; oShift = fShift; oOffset = fOffset; oMask = fMask;
        } else {
            pTlb = fTlb; pShift = fShift; pOffset = fOffset; pMask = fMask;
            oTlb = bTlb; oShift = baseShift; oOffset = baseOffset; oMask = bMask;
        }
    }

    /*
     * The slow path is one method on purpose: its bytecode is larger than C2's FreqInlineSize
     * (325 bytes), so C2 never inlines it into translatePa. Split into smaller pieces, it was
     * inlined during warm-up misses, translatePa compiled into a big method and the emulator's
     * call site could no longer inline the hit path (PrintInlining: "already compiled into a
     * big method"), which doubled the cost of a TLB hit.
     */
    private long slowPath(long va, int need, AccessKind kind, long fastTag) {
        // First the smallest block size (2M on x86-64) with the fast path's tag load: a THP hit
        // costs the call and this probe, before the shootdown and canonical checks (a poisoned
        // tag matches nothing, and a non-canonical address no key). Skipped, as the loop over
        // the block sets below, until a block entry was ever filled.
        if (blockFills != 0) {
            long fv = va >>> oShift;
            long[] f = oTlb;
            int fi = ((int) fv & oMask) << 1;
            long fk = f[fi];
            long fw = f[fi + 1];
            if (hit(fk, fw, fv, fastTag, need)) {
                long pa = (fw & ~RIGHTS_BITS) | (va & oOffset);
                if (++otherHits >= SWAP_AFTER) {
                    predictBase(f == bTlb); // after the pa: the swap changes oOffset
                    predictionSwaps++;
                }
                return pa;
            }
        }
        boolean drained = false;
        if (!online) {
            rejoin(); // a translation on an offline CPU: online first (its tag was poisoned at leave)
            drained = true;
        } else if (flushPosted()) {
            drain();
            drained = true;
        }
        long top = va >> topShift;
        if (((top + 1) >>> 1) != 0) {
            misses++;
            faults++;
            return Translation.faultWord(mmu.arch().geometry().root(), FaultReason.NOT_CANONICAL);
        }
        long vpn = va >>> baseShift;
        long[] t = bTlb;
        int i = ((int) vpn & bMask) << 1;
        if (blockFills != 0) {
            // blocks[0] is the set probed above: unless a drain ran since, with this same tag
            // (only this thread restores a poisoned tag, and a poisoned one made flushPosted true).
            for (int b = drained ? 0 : 1; b < blocks.length; b++) {
                BlockSet s = blocks[b];
                int bs = s.shift;
                long bv = va >>> bs;
                long[] st = s.tlb;
                int j = ((int) bv & s.mask) << 1;
                long bk = st[j];
                long bw = st[j + 1];
                if (hit(bk, bw, bv, asidTag, need)) {
                    return (bw & ~RIGHTS_BITS) | (va & ((1L << bs) - 1));
                }
            }
        }
        if (drained) {
            // The fast path probed with a poisoned tag (or before the drain): probe again.
            long k = t[i];
            long v = t[i + 1];
            if (hit(k, v, vpn, asidTag, need)) {
                return (v & ~RIGHTS_BITS) | (va & baseOffset);
            }
        }
        // Miss: walk the tables and fill.
        misses++;
        long root = splitRoots && va < 0 ? kernelRoot : userRoot;
        MmContext cur = current;
        if (root == userRoot && cur != null && cur.mm.isDead()) {
            // The mm was freed while this CPU still had it (lazily after leave(), or a caller
            // that translates for a process after its exit): its PGD is gone. As x86's lazy CPUs
            // do at the flush that frees an mm's tables (leave_mm), run init_mm from now on.
            // exit() flushed the mm's entries from every TLB, so only a miss can get here.
            leaveDeadMm();
            root = splitRoots && va < 0 ? kernelRoot : userRoot;
        }
        if (root < 0) {
            faults++;
            return Translation.faultWord(mmu.arch().geometry().root(), FaultReason.NOT_PRESENT);
        }
        WalkResult r = scratch;
        if (!walk(root, va, need, kind, r)) {
            faults++;
            return r.fault;
        }
        long tag = r.global ? GLOBAL_TAG : asidTag;
        assert (r.pagePa & RIGHTS_BITS) == 0 : "pa 0x" + Long.toHexString(r.pagePa) + " not granule-aligned";
        if (r.levelIndex == baseIndex) {
            t[i] = vpn | tag;
            t[i + 1] = r.pagePa | r.rights;
            if (t == pTlb) {
                otherHits = 0; // a miss in the fast path's own set: it is still in use
            }
        } else {
            BlockSet s = setOf[r.levelIndex];
            blockFills++;
            if (s.tlb == pTlb) {
                otherHits = 0;
            }
            long bv = va >>> s.shift;
            int j = ((int) bv & s.mask) << 1;
            s.tlb[j] = bv | tag;
            s.tlb[j + 1] = r.pagePa | r.rights;
        }
        long es = walker.entrySize(r.levelIndex);
        return r.pagePa | (va & (es - 1));
    }

    /** Root for {@code va}: arm64 TTBR1 (init_mm) for the upper half, else the current mm's; -1 if none. */
    private long rootFor(long va, MmContext ctx) {
        if (splitRoots && va < 0) {
            return mmu.kernelRoot();
        }
        return ctx == null ? (splitRoots ? -1 : mmu.kernelRoot()) : mmu.pageTables().pa(ctx.mm.pgd());
    }

    /** The typed form of {@link #translatePa}. */
    public Translation translate(long va, AccessKind kind, Privilege priv) {
        long raw = translatePa(va, kind, priv);
        if (Translation.isFault(raw)) {
            return Translation.faultOf(raw);
        }
        java.util.List<Level> levels = mmu.arch().geometry().levels();
        for (BlockSet s : blocks) {
            long bv = va >>> s.shift;
            int j = ((int) bv & s.mask) << 1;
            long bk = s.tlb[j];
            if (keyMatches(bk, bv, asidTag) && (s.tlb[j + 1] & ~RIGHTS_BITS) == (raw & -(1L << s.shift))) {
                return new Translation.Mapped(raw, 1L << s.shift, levels.get(s.levelIndex));
            }
        }
        return new Translation.Mapped(raw, 1L << baseShift, levels.get(baseIndex));
    }

    /* ---- flush ---- */

    /** Posts a request from another CPU; returns the sequence number to wait for. */
    long post(FlushRequest req) {
        inbox.add(req);
        long seq = (long) REQUESTED.getAndAdd(this, 1L) + 1;
        TAG.setVolatile(this, POISON_TAG); // after the bump: see the protocol notes
        return seq;
    }

    long acked() {
        return (long) ACKED.getAcquire(this);
    }

    /** Applies everything posted so far, then acknowledges it. Owner thread only. */
    void drain() {
        long s;
        do {
            s = (long) REQUESTED.getAcquire(this);
            FlushRequest req;
            while ((req = inbox.poll()) != null) {
                apply(req);
            }
            seen = s;
            ACKED.setRelease(this, s);
            // Offline, the tag stays poisoned: the next translation takes the slow path, which
            // brings the CPU online before it uses the TLB (rejoin).
            TAG.setVolatile(this, online ? asidTag : POISON_TAG);
            // A flusher's poison the line above overwrote came after its bump: seen here.
        } while ((long) REQUESTED.getVolatile(this) != s);
    }

    /** Invalidates the entries {@code req} covers. Owner thread only. */
    void apply(FlushRequest req) {
        flushesApplied++;
        if (req.kind() == FlushRequest.Kind.ALL) {
            clearSet(bTlb);
            for (BlockSet s : blocks) {
                clearSet(s.tlb);
            }
            return;
        }
        invalidateIf(bTlb, baseShift, req);
        for (BlockSet s : blocks) {
            invalidateIf(s.tlb, s.shift, req);
        }
    }

    /** Empties the entries of a set that {@code req} drops. */
    private static void invalidateIf(long[] set, int shift, FlushRequest req) {
        for (int i = 0; i < set.length; i += 2) {
            long k = set[i];
            if (k == EMPTY) {
                continue;
            }
            long start = (k & VPN_BITS) << shift;
            if (drops(req, start, start + (1L << shift) - 1, (int) (k >>> ASID_SHIFT))) {
                set[i] = EMPTY;
                set[i + 1] = 0;
            }
        }
    }

    /**
     * Whether {@code r} drops the entry for [{@code start}, {@code last}] (unsigned VAs) tagged
     * {@code asid} ({@link #GLOBAL_ASID} for a global entry): the one definition of what each
     * kind of request reaches, for {@link #apply} and the audit.
     */
    static boolean drops(FlushRequest r, long start, long last, int asid) {
        switch (r.kind()) {
            case ALL:
                return true;
            case MM: // every non-global entry of one ASID
                return r.asid() == asid;
            case RANGE: // non-global entries of one ASID in the range
                return r.asid() == asid && overlaps(r, start, last);
            default: // KERNEL_RANGE: every entry in the range, any ASID, global ones too
                return overlaps(r, start, last);
        }
    }

    private static boolean overlaps(FlushRequest r, long start, long last) {
        return Long.compareUnsigned(start, r.end() - 1) <= 0 && Long.compareUnsigned(last, r.start()) >= 0;
    }

    /* ---- audit (quiescent: the CPU's thread is not translating) ---- */

    /** Calls {@code sink} for every cached entry: (va, asid, levelIndex, pa, rights). */
    void forEachEntry(EntrySink sink) {
        forEachEntry(bTlb, baseShift, baseIndex, sink);
        for (BlockSet s : blocks) {
            forEachEntry(s.tlb, s.shift, s.levelIndex, sink);
        }
    }

    private static void forEachEntry(long[] set, int shift, int levelIndex, EntrySink sink) {
        for (int i = 0; i < set.length; i += 2) {
            long k = set[i];
            if (k != EMPTY) {
                long v = set[i + 1];
                sink.entry((k & VPN_BITS) << shift, (int) (k >>> ASID_SHIFT), levelIndex, v & ~RIGHTS_BITS, (int) (v & RIGHTS_BITS));
            }
        }
    }

    interface EntrySink {
        void entry(long va, int asid, int levelIndex, long pa, int rights);
    }

    /** A read-only walk (no A/D update) with this CPU's controls, for the audit. */
    boolean auditWalk(long va, MmContext ctx, WalkResult out) {
        long root = rootFor(va, ctx);
        return root >= 0 && walk(root, va, 0, AccessKind.READ, out);
    }

    /** The hardware walk with this CPU's controls: X86Walker on x86-64 (it falls back to HardwareWalker), else HardwareWalker. */
    private boolean walk(long root, long va, int need, AccessKind kind, WalkResult out) {
        X86Walker xw = x86Walker;
        return xw != null ? xw.walk(root, va, need, kind, controls, out) : walker.walk(root, va, need, kind, controls, out);
    }

    /* ---- statistics ---- */

    /*
     * The counters are plain fields written by this CPU's thread only: read them from it, or
     * after it stopped (a join), as the benchmarks and tests do.
     */

    /** Translations the TLB could not serve: each walked the tables (or faulted on a non-canonical address). */
    public long misses() {
        return misses;
    }

    /** Translations that ended in a fault (not mapped, not permitted, non-canonical). */
    public long faults() {
        return faults;
    }

    /** Flush requests this CPU applied to its TLB (its own and other CPUs' shootdowns). */
    public long flushesApplied() {
        return flushesApplied;
    }

    /** Times the fast path's set changed, between the base pages' and the smallest blocks' (notes: "Set prediction"). */
    public long predictionSwaps() {
        return predictionSwaps;
    }

    /** The CPU this MMU belongs to, for messages. */
    @Override
    public String toString() {
        return "cpu" + id + (current == null ? "" : "[" + current.mm + " asid " + current.asid + "]");
    }

    /** The MMU of the calling thread's simulated CPU in {@code mmu}, or {@code null}. */
    static CpuMmu ofCurrentThread(Mmu mmu) {
        Object s = SimCpu.current().mmuState();
        return s instanceof CpuMmu && ((CpuMmu) s).mmu == mmu ? (CpuMmu) s : null;
    }
}
