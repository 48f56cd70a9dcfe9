package ptlab.mmu;

import java.util.List;
import ptlab.arch.Geometry;
import ptlab.arch.Level;
import ptlab.arch.PteFormat;
import ptlab.phys.PageDesc;
import ptlab.phys.PhysicalMemory;
import ptlab.phys.Words;

/**
 * The page-table walk a CPU's MMU performs on a TLB miss, for every architecture: one loop
 * over the run-time levels of the {@link Geometry}, entry bits interpreted by the
 * {@link PteFormat} (valid, table, output address) and the family's {@link HardwareRules}
 * (rights, reserved encodings, accessed/dirty updates).
 */
/*
 * Implementation notes.
 *
 * Loads: every entry is read with acquire ordering, so a walker that sees a table pointer sees
 * the table's zeroed and constructed contents (the installer publishes with a release store).
 * A word equal to PageDesc.POISON is a read of a freed table, reported: the hazard that TLB
 * shootdown before table free exists to prevent. Unlike PhysicalMemory.readWord, the walk does
 * not also load the frame's poisoned flag: that was a second acquire load per level, and its
 * only extra catch is a word read just before the free's poison fill reached it, a read that
 * raced the free rather than followed it. HardwareWalkerPoisonTest is the negative control.
 *
 * Table lookup: the pfn -> PageDesc mapping of a frame never changes (a freed and reused table
 * frame keeps its PageDesc), nor does a descriptor's words array once the frame was first a
 * table (ensureWords replaces it only for another length, and wordsPerFrame is fixed per
 * PhysicalMemory), so each CPU memoises the last table's words per level (in its WalkResult),
 * one load less per level than memoising the PageDesc. This is a lookup cache, not a
 * paging-structure cache: the entry itself is read from the table on every walk, and the
 * poison check runs on every read.
 *
 * Hot loop: fields used per level are copied to locals. Every acquire load is a compiler
 * barrier after which C2 reloads every field and re-checks the type guard of every inlined
 * PteFormat/HardwareRules call; locals are loaded once per walk (MmuBench tlbMissWalk4Level:
 * about 10% less in back-to-back runs). The leaf half is a method of its own so that the loop
 * stays small. The result holds the leaf's level index only (the Level is levels()[index]).
 * The index is masked a second time with the words' length (the identity) so that C2 drops
 * the load's range check.
 *
 * Inlining (PrintInlining of the miss loop): checkTable and checkLeaf were not inlined,
 * "unloaded signature classes": a workload without faults never loads FaultReason, so they
 * stayed four real calls per walk; the static initializer loads it. walkOnce was not inlined
 * into walk either ("hot method too big"): the restart loop is now in walk itself. Measured
 * together with the words memo (2026-11, loaded 2-core VM, x86-64 4-level, thread CPU time,
 * min over rounds of alternating builds): a plain 1-entry-TLB miss loop 35.3-35.7 ns against
 * 35.5-41.7 before, MmuCpuTime tlbMissWalk4Level 41.8-49.2 against 39.2-40.1: no gain beyond
 * the host's noise. Kept because C2's inlining no longer depends on whether a fault has
 * happened yet in the process.
 *
 * Where a miss goes (perf cpu-clock samples with a perf map, the 1-entry-TLB miss loop,
 * x86-64 4-level): walk about 65-70%, CpuMmu.slowPath about 11%, the caller's inlined
 * fast-path probe about 13%. Within walk the samples sit behind loads (the memo miss at the
 * PTE level, which alternates between two tables in the benchmark: sections, Section.desc,
 * the PageDesc, its words, their length, one after the other; the entry loads) and on stack
 * spills: va, need, kind, ctl, out, the memo arrays, fmt, rules, rights and the loop state are
 * live across the loop and C2 keeps most of them in stack slots. For scale, a hand-written
 * x86-only walk over the same simulated memory (acquire loads, per-level memo, one-entry
 * TLB, but no rights, A/D or controls) ran at about 16 ns per miss on the same host.
 * Tried without an effect beyond the noise (thread CPU time, min of 12 rounds, alternating
 * builds, commit b0472e6 and its revert): a per-level table-key decode table (one int of
 * valid/table/rights/global/accessed per key of the entry's attribute bits, replacing the
 * isValid/isTable/checkTable/tableRights/tableGlobal/tableAccessed calls), a two-way memo
 * per level (both PTE tables of the benchmark hit), and a linked per-level Step object
 * instead of the per-level arrays (2-4 ns worse: s.next is a load the loop carries). Before
 * that: a plain-mode read of the poison flag instead of the volatile one, a 1024-slot
 * pfn-indexed memo, G1 versus Parallel GC.
 *
 * x86-64 misses do not come here first: X86Walker answers the common miss (everything
 * present and accessed, access allowed, no A/D update) read-only and unrolled, and calls this
 * walk for everything else; this class stays the definition it is tested against
 * (X86WalkerDifferentialTest). Measured 2026-11-22 (the same host, loaded by other builds;
 * thread CPU time, alternating builds), x86-64 4-level, per miss: this loop alone 31-35 ns,
 * X86Walker 21-22 ns (a harness calling walk() directly, 1-entry memo miss at the PTE level);
 * MmuCpuTime tlbMissWalk4Level see X86Walker's notes.
 *
 * Accessed/dirty: like the hardware, the update is an atomic compare-and-set of the whole word
 * against the value the permission check was made on. If the word changed (another CPU's
 * update, or the kernel cleared or rewrote it) the walk starts again from the root, so a
 * PTE cleared by ptep_get_and_clear is never resurrected with A or D set (the race
 * the kernel's x86 "A/D bits may be set spuriously" comments describe, resolved in the
 * hardware's favour: update only a word that is still what was checked).
 *
 * Permission decision: rights = AND of tableRights over the path, AND leafRights; then
 * applyControls. The fault reason: a right the controls removed is USER_PAGE_GUARD; no right at
 * the access's privilege is PRIVILEGE; otherwise the kind (write, execute, read).
 */
final class HardwareWalker {
    private static final int MAX_RESTARTS = 1 << 16;
    /*
     * Loads FaultReason and Translation with the walker: C2 does not inline a call whose
     * signature names a class not loaded yet ("unloaded signature classes"), and a workload
     * without faults never loads them, so checkTable/checkLeaf stayed calls. See "Inlining" in
     * the notes.
     */
    static {
        if (FaultReason.values().length == 0 || Translation.isFault(0)) {
            throw new AssertionError("fault encoding");
        }
    }

    private final PhysicalMemory mem;
    private final PteFormat fmt;
    private final HardwareRules rules;
    private final Level[] levels;
    private final int[] shifts;
    private final long[] indexMasks;
    private final long[] entrySizes;
    private final boolean[] leafAllowed;
    private final int pageShift;

    HardwareWalker(Geometry geo, PteFormat fmt, HardwareRules rules, PhysicalMemory mem) {
        this.mem = mem;
        this.fmt = fmt;
        this.rules = rules;
        this.pageShift = geo.pageShift();
        List<Level> ls = geo.levels();
        int n = ls.size();
        levels = ls.toArray(new Level[0]);
        shifts = new int[n];
        indexMasks = new long[n];
        entrySizes = new long[n];
        leafAllowed = new boolean[n];
        for (int i = 0; i < n; i++) {
            Level l = levels[i];
            shifts[i] = geo.shift(l);
            indexMasks[i] = geo.entries(l) - 1;
            entrySizes[i] = geo.entrySize(l);
            leafAllowed[i] = geo.leafAllowed(l);
        }
    }

    HardwareRules rules() {
        return rules;
    }

    int levelCount() {
        return levels.length;
    }

    long entrySize(int levelIndex) {
        return entrySizes[levelIndex];
    }

    /**
     * Walks from the root at {@code rootPa} for an access needing {@code need} (a
     * {@link Rights} bit; 0 for a read-only audit that checks nothing and updates nothing).
     *
     * @return true if mapped ({@code out} filled), false on a fault ({@code out.fault} set)
     */
    boolean walk(long rootPa, long va, int need, AccessKind kind, Controls ctl, WalkResult out) {
        // Locals, not fields: see "Hot loop" in the notes. One method with the restart loop
        // inside, not walk calling walkOnce: see "Inlining" in the notes.
        final PteFormat fmt = this.fmt;
        final HardwareRules rules = this.rules;
        final Level[] levels = this.levels;
        final int[] shifts = this.shifts;
        final long[] indexMasks = this.indexMasks;
        final long[] memoPa = out.memoPa;
        final long[][] memoWords = out.memoWords;
        final int last = levels.length - 1;
        restart:
        for (int attempt = 0; attempt < MAX_RESTARTS; attempt++) {
            int rights = Rights.ALL;
            boolean global = false;
            long tablePa = rootPa;
            for (int i = 0; i <= last; i++) {
                Level l = levels[i];
                long[] words = memoWords[i];
                if (memoPa[i] != tablePa) {
                    words = table(tablePa).words();
                    memoPa[i] = tablePa;
                    memoWords[i] = words;
                }
                // The second mask is the identity (a table has at least indexMask + 1 words, a
                // power of two); it lets C2 drop the range check of the load.
                int idx = (int) ((va >>> shifts[i]) & indexMasks[i]) & (words.length - 1);
                long e = Words.getAcquire(words, idx);
                if (e == PageDesc.POISON) {
                    usedFreedTable(tablePa, idx);
                }
                if (!fmt.isValid(e)) {
                    fault(out, l, FaultReason.NOT_PRESENT);
                    return false;
                }
                if (i < last && fmt.isTable(l, e)) {
                    FaultReason bad = rules.checkTable(l, e);
                    if (bad != null) {
                        fault(out, l, bad);
                        return false;
                    }
                    rights &= rules.tableRights(l, e);
                    global |= rules.tableGlobal(e);
                    if (need != 0) {
                        long a = rules.tableAccessed(e);
                        if (a != e && Words.compareAndExchange(words, idx, e, a) != e) {
                            continue restart;
                        }
                    }
                    tablePa = fmt.outputAddress(l, e);
                    continue;
                }
                int r = leaf(va, need, kind, ctl, out, i, l, words, idx, e, rights, global);
                if (r >= 0) {
                    return r == 1;
                }
                continue restart;
            }
            throw new AssertionError("walk ran past the last level");
        }
        throw new IllegalStateException("hardware walk of 0x" + Long.toHexString(va) + " restarted " + MAX_RESTARTS + " times");
    }

    /** The leaf part of {@link #walk}: checks, A/D update and the result; 1 mapped, 0 fault, -1 restart (a CAS lost). */
    private int leaf(long va, int need, AccessKind kind, Controls ctl, WalkResult out, int i, Level l, long[] words, int idx,
            long e, int rights, boolean global) {
        final HardwareRules rules = this.rules;
        if (!leafAllowed[i]) {
            return fault(out, l, FaultReason.RESERVED);
        }
        long entrySize = entrySizes[i];
        FaultReason bad = rules.checkLeaf(l, e, entrySize);
        if (bad != null) {
            return fault(out, l, bad);
        }
        int raw = rights & rules.leafRights(l, e);
        int fin = rules.applyControls(raw, ctl);
        if ((fin & need) != need) {
            return fault(out, l, reason(raw, need));
        }
        if (need != 0) {
            long ne = rules.updateAccessed(e, kind);
            if (ne != e) {
                if (Words.compareAndExchange(words, idx, e, ne) != e) {
                    return -1;
                }
                e = ne;
            }
        }
        if (!rules.writeCached(e)) {
            fin &= ~Rights.WRITE;
        }
        out.mapped(va, fmt.outputAddress(l, e), rules.leafSize(l, e, entrySize), entrySize, i, fin, global || rules.leafGlobal(e));
        return 1;
    }

    private void usedFreedTable(long tablePa, int idx) {
        PageDesc t = table(tablePa);
        mem.log().record("use-after-free", "mmu walk read word " + idx + " of freed table pfn 0x" + Long.toHexString(t.pfn()));
    }

    /**
     * The table at {@code pa}; a pointer to a frame that never held a table is a walk into
     * garbage. Kept under C2's MaxInlineSize (35 bytes) so that it is inlined even where it is
     * cold at compile time (a walker compiled while the memo hit). That is not enough on its
     * own: C2 also refuses a callee above MaxTrivialSize (6 bytes) that has run fewer than
     * MinInliningThreshold (250) times when the caller is compiled (PrintInlining: "executed <
     * MinInliningThreshold times", seen for X86Walker's first lookup helper, 32 bytes).
     */
    private PageDesc table(long pa) {
        PageDesc d = mem.descOrNull(pa >>> pageShift);
        return d != null ? d : noTable(pa);
    }

    private static PageDesc noTable(long pa) {
        throw new IllegalStateException("hardware walk followed a table pointer to pa 0x" + Long.toHexString(pa)
                + ", which never held a table");
    }

    private static int fault(WalkResult out, Level l, FaultReason reason) {
        out.fault = Translation.faultWord(l, reason);
        return 0;
    }

    private static FaultReason reason(int raw, int need) {
        if ((raw & need) != 0) {
            return FaultReason.USER_PAGE_GUARD;
        }
        int side = (need & Rights.USER) != 0 ? Rights.USER : Rights.ALL & ~Rights.USER;
        if ((raw & side) == 0) {
            return FaultReason.PRIVILEGE;
        }
        if ((need & Rights.WRITE) != 0) {
            return FaultReason.WRITE_PROTECTED;
        }
        return (need & Rights.EXEC) != 0 ? FaultReason.NO_EXECUTE : FaultReason.NO_READ;
    }
}
