package ptlab.mmu;

import ptlab.arch.Geometry;
import ptlab.arch.Level;
import ptlab.arch.X86Format;
import ptlab.phys.PageDesc;
import ptlab.phys.PhysicalMemory;
import ptlab.phys.Words;

/**
 * The x86-64 hardware walk (4- and 5-level paging): a read-only fast path for the common TLB
 * miss (every entry present, every table entry already accessed, the access allowed, the
 * leaf's accessed/dirty state already what the access would set), and {@link HardwareWalker}
 * for everything else. {@link Mmu} gives it to the CPUs of an x86 machine; the generic walker
 * stays the definition (and the only walk of arm64 and RISC-V), and
 * {@code X86WalkerDifferentialTest} holds the two equal.
 */
/*
 * Implementation notes.
 *
 * Why a second walk. A TLB miss with a 4-level walk cost about 35 ns in the generic loop
 * against about 11 ns for a bare x86 walk over the same memory (acquire loads, per-level memo,
 * no rights): C2 kept most of the loop's many live values (va, need, kind, controls, out, the
 * memo arrays, rights, global, level, index, shift, attempt, the restart state) in stack slots,
 * re-checked the interface calls' type guards after each acquire load, and the table lookup on
 * a memo miss was five dependent loads (sections, Section.desc, PageDesc, words). Here:
 *  - Unrolled: one call of entry() per level with a constant shift, 5-level paging one extra
 *    step in front; no loop counter, no per-level array of shifts or masks.
 *  - Read-only: no compare-and-set, no restart, no fault word, so none of their state is
 *    live. Whatever would write memory or fault returns false before anything is written
 *    but the lookup memo, and the generic walk runs from the root.
 *  - The rights of the path are one long, the AND of X86Rules.grants (U/S, R/W and XD flipped)
 *    over the table entries, turned into a Rights set once at the leaf by X86Rules.rightsOf,
 *    the function that is now both X86Rules.tableRights and leafRights (on x86 a table entry
 *    restricts as a leaf does, and each right is a conjunction of grant bits, so the rights
 *    of the ANDed grants are the AND of the rights).
 *  - X86Format and X86Rules are final classes in fields of their own type: their calls bind
 *    statically and inline without type guards.
 *  - The table lookup on a memo miss is PhysicalMemory.tableWordsOrNull: pfn to words in two
 *    array loads, no PageDesc. A null (no table there, outside RAM) leaves it to the generic
 *    walk, whose lookup throws with its message.
 *
 * What keeps it equal to the generic walk. The fast path only ever answers "mapped", and only
 * when the generic walk would answer the same without writing: it calls the same rule methods
 * for the leaf (X86Format.isValid, outputAddress; X86Rules.checkLeaf, applyControls,
 * updateAccessed, writeCached, leafGlobal, leafSize), reads with the same acquire loads, and
 * declines what the generic walk would write or fault on: a table entry without A
 * (tableAccessed would set it), a leaf whose updateAccessed differs, rights that do not cover
 * the need. A poison word declines too, so the use-after-free report is the generic walk's,
 * made once. Its own restatements are the table test (P set, PS clear above the last level:
 * X86Format.isTable), the table address (PA_MASK: outputAddress of a non-PS entry) and the
 * x86 shifts. X86WalkerDifferentialTest compares outcome, exception, log and every table
 * word of both walkers on random 4- and 5-level graphs (about 90000 walks, half of the
 * accesses walked twice so that the second finds the A/D bits set; the fast path alone
 * answers 3-5% of them, a floor the test asserts); breaking one rule in the fast path
 * (ignoring XD in the PMD entry, or accepting a store to a clean leaf) makes it fail.
 *
 * Concurrency: the entries the fast path reads are read by acquire loads as the generic walk
 * reads them, one after the other, with no re-check; a result is one the generic walk could
 * have produced from the same reads. A race that makes it decline costs one generic walk.
 *
 * Measured 2026-11-22 on the 2-core VM (2.1 GHz Xeon, load 1.2-2 from other builds),
 * x86-64 4-level, thread CPU time, builds before (generic walk) and after run alternately:
 *  - MmuCpuTime 100000, tlbMissWalk4Level, 7 runs each: before 45.5-73.9 (min 45.5), after
 *    32.4-69.2 (min 32.4); tlbHit before 4.7-9.3, after 4.4-8.1 (no slower).
 *  - The 1-entry-TLB miss loop, min of 30 rounds: before 33.3-62.4 (11 runs, typical 36-40),
 *    after 26.7-28.7 (4 runs); hits 3.0-3.5 (min) in both.
 *  - walk() alone (direct harness): generic 31-35, this 21-22 (without the unrolling, a loop
 *    over the levels: 29-31; without the memo, every lookup through tableWordsOrNull: 45-57).
 *  - JMH tlbMissWalk4Level 55 +- 33 ns, tlbHit 7.2 +- 4.0 ns: wall clock on the loaded host.
 * The 25 ns goal for a miss is nearly met in thread CPU time, not in JMH's wall time.
 *
 * 4-level (common4, pteLeaf; 2026-11-22, later the same day). perf of the loop above (the 1-entry-TLB miss loop,
 * cpu-clock, perf map): common 72-76% of the samples, spread thin over 6.5 KB of code that
 * served 4 and 5 levels (the level index a variable, so every memo access an array load with
 * its range check, levels[i], entrySizes[i] and leafAllowed[i] loaded at the leaf), and the
 * PTE-level memo miss (the benchmark alternates between two PTE tables) a chain of three
 * dependent loads after the PMD entry (sections, the section's words, their length). Now:
 *  - common4: the walk of the four levels PML4 to PT with the memo in WalkResult's TableMemo
 *    objects (pml4, pdpt, pd, pt: no array, no range check; one object per level instead of
 *    two fields measured the same, 18.9-19.3 against 18.9-19.7 ns). 5-level paging takes the
 *    PML5 step (memo pml5), then the same four levels.
 *  - pteLeaf: commonLeaf for the 4K leaf with Level.PTE and 4096 constant; the same rule
 *    calls (checkLeaf, leafSize and outputAddress fold to their PTE cases). The constructor
 *    rejects a geometry whose last level is not a 4K PTE.
 *  - Two ways at the PTE level (ptBefore: the PTE table used before the last): any
 *    access pattern alternating between two PTE tables (code and stack, the benchmark) finds
 *    both. Random misses over a GiB gain nothing from it: their PTE tables differ each time.
 * Negative controls run against X86WalkerDifferentialTest (each failed, then reverted): PMD
 * XD ignored in common4; a store to a clean PTE accepted in pteLeaf; the second way answering
 * the first way's words.
 * Measured (same host, thread CPU time, the 1-entry-TLB miss loop, min of 30 rounds, builds
 * run alternately; the host has a "slow mode" where a whole run is 1.7-2x slower, hits too,
 * left out): before 26.5-31.6 ns per miss (7 runs), the fields and pteLeaf alone 23.5-25.4
 * (3 runs), with the two ways 20.4-23.5 (8 runs); hits 3.2-3.7 in all. perf after: common4
 * 65% (3.6 KB of code), CpuMmu.slowPath 22%, the caller's inlined probe 13%.
 * JMH (MmuBench -f 2 -wi 3 -w 1s -i 5 -r 1s, load 1.7-2.2, wall clock): tlbMissWalk4Level
 * 29.2 +- 11.1 ns against 45.8 +- 17 before; per iteration one fork 22.2-26.1, the other
 * 23.8 then 37.2-38.2 (the slow mode). The 25 ns goal is met on the host's quiet iterations
 * only. MmuCpuTime 100000, two runs per build, alternating: tlbMissWalk4Level before 67.4 and
 * 34.0, after 21.4 and 44.7 (each build had one slow-mode run; the hit 9.4/5.5 before,
 * 4.2/9.4 after, the same way round). Not tried yet: inlining common4 into slowPath (C2 keeps
 * it a call: too big), which would save the spills around the call.
 * The same build on the host with nothing else running (load 0.1 before the run; JMH -f 2
 * -wi 3 -w 1s -i 5 -r 1s): tlbMissWalk4Level 20.2 +- 1.0 ns, under the 25 ns goal error bar
 * included; the plain miss loop 18.1-20.4 ns (min of 30 rounds, 6 runs).
 */
final class X86Walker {
    private final HardwareWalker generic;
    private final PhysicalMemory mem;
    private final X86Format fmt;
    private final X86Rules rules;
    private final Level[] levels;
    private final long[] entrySizes;
    private final boolean[] leafAllowed;
    private final int last;

    X86Walker(HardwareWalker generic, Geometry geo, X86Format fmt, PhysicalMemory mem) {
        if (geo.pageShift() != 12 || !(generic.rules() instanceof X86Rules)) {
            throw new IllegalArgumentException("not an x86-64 geometry: " + geo);
        }
        this.generic = generic;
        this.mem = mem;
        this.fmt = fmt;
        this.rules = (X86Rules) generic.rules();
        this.levels = geo.levels().toArray(new Level[0]);
        int n = levels.length;
        this.last = n - 1;
        this.entrySizes = new long[n];
        this.leafAllowed = new boolean[n];
        for (int i = 0; i < n; i++) {
            entrySizes[i] = geo.entrySize(levels[i]);
            leafAllowed[i] = geo.leafAllowed(levels[i]);
            if (geo.shift(levels[i]) != 12 + 9 * (last - i) || geo.entries(levels[i]) != 512) {
                throw new IllegalArgumentException("not an x86-64 geometry: " + geo);
            }
        }
        if ((n != 4 && n != 5) || levels[last] != Level.PTE || !leafAllowed[last] || entrySizes[last] != 4096) {
            throw new IllegalArgumentException("not an x86-64 geometry: " + geo);
        }
    }

    /**
     * As {@link HardwareWalker#walk}, with the same results and the same effects on memory: the
     * common case here, everything else by the generic walk.
     */
    boolean walk(long rootPa, long va, int need, AccessKind kind, Controls ctl, WalkResult out) {
        return common(rootPa, va, need, kind, ctl, out) || generic.walk(rootPa, va, need, kind, ctl, out);
    }

    /**
     * The common miss: every entry present, every table entry already accessed, the leaf
     * allowed with its accessed/dirty state already what the access sets. Reads only; false
     * for anything else (a fault, an A/D update, a freed table, a pointer to no table), and
     * the generic walk then walks again from the root. Package-private for the differential
     * test, which counts the cases it answers.
     */
    boolean common(long rootPa, long va, int need, AccessKind kind, Controls ctl, WalkResult out) {
        if (last == 3) {
            return common4(rootPa, va, need, kind, ctl, out, 0, -1L);
        }
        // 5-level paging: the PML5 step, then the 4-level walk below it, level indices one higher.
        long e = entry(out.pml5, rootPa, va, 48);
        if (!accessedTable(e)) {
            return (e & X86Format.PS) != 0 && commonLeaf(va, need, kind, ctl, out, 0, e, -1L);
        }
        return common4(e & X86Format.PA_MASK, va, need, kind, ctl, out, 1, X86Rules.grants(e));
    }

    /**
     * {@link #common} for the four levels from the table at {@code tablePa} down (4-level
     * paging: PGD, PUD, PMD, PTE; 5-level: from the P4D table, {@code i0} 1, {@code grants}
     * the PML5 entry's): the memo in one object per level, the PTE leaf in {@link #pteLeaf}.
     * See "4-level" in the notes.
     */
    private boolean common4(long tablePa, long va, int need, AccessKind kind, Controls ctl, WalkResult out, int i0, long grants) {
        long e = entry(out.pml4, tablePa, va, 39);
        if (!accessedTable(e)) {
            return (e & X86Format.PS) != 0 && commonLeaf(va, need, kind, ctl, out, i0, e, grants);
        }
        grants &= X86Rules.grants(e);
        e = entry(out.pdpt, e & X86Format.PA_MASK, va, 30);
        if (!accessedTable(e)) {
            return (e & X86Format.PS) != 0 && commonLeaf(va, need, kind, ctl, out, i0 + 1, e, grants);
        }
        grants &= X86Rules.grants(e);
        e = entry(out.pd, e & X86Format.PA_MASK, va, 21);
        if (!accessedTable(e)) {
            return (e & X86Format.PS) != 0 && commonLeaf(va, need, kind, ctl, out, i0 + 2, e, grants);
        }
        grants &= X86Rules.grants(e);
        long pa = e & X86Format.PA_MASK;
        // Two ways at the PTE level: the last two PTE tables (see "4-level" in the notes).
        WalkResult.TableMemo newest = out.pt;
        WalkResult.TableMemo older = out.ptBefore;
        long[] w;
        if (newest.pa == pa) {
            w = newest.words;
        } else if (older.pa == pa) {
            w = older.words;
        } else {
            if ((w = mem.tableWordsOrNull(pa >>> 12)) == null) {
                return false;
            }
            older.pa = newest.pa;
            older.words = newest.words;
            newest.pa = pa;
            newest.words = w;
        }
        return pteLeaf(va, need, kind, ctl, out, Words.getAcquire(w, (int) (va >>> 12) & 511 & (w.length - 1)), grants);
    }

    /** The entry for {@code va} in the table at {@code tablePa}, found through {@code memo}; poison if no table there. */
    private long entry(WalkResult.TableMemo memo, long tablePa, long va, int shift) {
        long[] words = memo.words;
        if (memo.pa != tablePa) {
            words = mem.tableWordsOrNull(tablePa >>> 12);
            if (words == null) {
                return PageDesc.POISON;
            }
            memo.pa = tablePa;
            memo.words = words;
        }
        return Words.getAcquire(words, (int) (va >>> shift) & 511 & (words.length - 1));
    }

    /**
     * {@link #commonLeaf} for a 4K leaf (level PTE, index {@link #last}, always a leaf on
     * x86): {@link #leaf} with the level and size constant, which C2 folds once it inlines it.
     */
    private boolean pteLeaf(long va, int need, AccessKind kind, Controls ctl, WalkResult out, long e, long grants) {
        return leaf(va, need, kind, ctl, out, last, Level.PTE, 4096, e, grants);
    }

    /** A table entry the common path may descend through: present, not a leaf, accessed, not poison. */
    private boolean accessedTable(long e) {
        return (e & (X86Format.P | X86Format.PS | X86Format.A)) == (X86Format.P | X86Format.A) && e != PageDesc.POISON;
    }

    /** The leaf of the common path at level index {@code i}: {@link #leaf} unless the level holds no leaves. */
    private boolean commonLeaf(long va, int need, AccessKind kind, Controls ctl, WalkResult out, int i, long e, long grants) {
        return leafAllowed[i] && leaf(va, need, kind, ctl, out, i, levels[i], entrySizes[i], e, grants);
    }

    /** True with {@code out} filled if the leaf {@code e} allows the access and needs no A/D update. */
    private boolean leaf(long va, int need, AccessKind kind, Controls ctl, WalkResult out, int i, Level l, long entrySize, long e,
            long grants) {
        final X86Rules rules = this.rules;
        if (e == PageDesc.POISON || !fmt.isValid(e) || rules.checkLeaf(l, e, entrySize) != null) {
            return false;
        }
        int fin = rules.applyControls(X86Rules.rightsOf(grants & X86Rules.grants(e)), ctl);
        if ((fin & need) != need || (need != 0 && rules.updateAccessed(e, kind) != e)) {
            return false;
        }
        if (!rules.writeCached(e)) {
            fin &= ~Rights.WRITE;
        }
        out.mapped(va, fmt.outputAddress(l, e), rules.leafSize(l, e, entrySize), entrySize, i, fin, rules.leafGlobal(e));
        return true;
    }
}
