package ptlab.mmu;

import ptlab.arch.Geometry;
import ptlab.arch.Level;
import ptlab.arch.X86Format;
import ptlab.phys.PageDesc;
import ptlab.phys.PhysicalMemory;
import ptlab.phys.Words;

/**
 * {@link HardwareWalker}'s walk for x86-64 (4- and 5-level paging) only: the same walk, with
 * the x86 format and rules called through their concrete classes and the permission bits of
 * the path kept as one word. {@link Mmu} gives it to every CPU of an x86 machine; the generic
 * walker stays the definition (and the walk of arm64 and RISC-V), and
 * {@code X86WalkerDifferentialTest} holds the two equal.
 */
/*
 * Implementation notes.
 *
 * Why a second walk. The generic loop calls PteFormat and HardwareRules through interfaces
 * and keeps per-level geometry in arrays. Every acquire load is a compiler barrier after which
 * C2 re-checks the type guard of each inlined interface call and reloads the arrays; with the
 * rights, the memo arrays, the controls and the loop state live across the loop, C2 spilled
 * most of them to the stack. Here:
 *  - X86Format and X86Rules are final classes held in fields of their own type: every call
 *    binds statically and inlines without a guard; the constant ones (checkTable,
 *    tableGlobal: x86 has neither) fold away.
 *  - The rights of the path are one long, the AND of X86Rules.grants over the table entries,
 *    turned into a Rights set once at the leaf by X86Rules.rightsOf, the function behind
 *    tableRights and leafRights both (on x86 they are the same function, and a function of
 *    ANDed grants: each right is a conjunction of grant bits). One AND per level instead of a
 *    call, and no int rights plus boolean global carried through the loop.
 *  - The shift is the root's, minus 9 per level (4 KiB granule, 512 entries: x86-64 has no
 *    other), not a per-level array load.
 *
 * What keeps it equal to the generic walk: it calls the same rule methods (X86Format.isValid,
 * isTable, outputAddress; X86Rules.checkTable, tableAccessed, checkLeaf, applyControls,
 * updateAccessed, writeCached, leafGlobal, leafSize; HardwareWalker.reason and fault), the
 * same table lookup and use-after-free report (HardwareWalker.table, usedFreedTable), the
 * same loads (acquire), the same compare-and-exchange on the same words in the same order and
 * the same restart on a lost one. Its own parts are the loop shape, the grants word and the
 * shift arithmetic. X86WalkerDifferentialTest runs random x86 4- and 5-level trees (random
 * bits at every level, self references, freed tables) through both and compares results,
 * fault words, exceptions, log and memory.
 */
final class X86Walker {
    private final HardwareWalker generic;
    private final PhysicalMemory mem;
    private final X86Format fmt;
    private final X86Rules rules;
    private final Level[] levels;
    private final long[] entrySizes;
    private final boolean[] leafAllowed;
    private final int rootShift;
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
        this.rootShift = 12 + 9 * last;
    }

    /** As {@link HardwareWalker#walk}, with the same results and the same effects on memory. */
    boolean walk(long rootPa, long va, int need, AccessKind kind, Controls ctl, WalkResult out) {
        return common(rootPa, va, need, kind, ctl, out) || full(rootPa, va, need, kind, ctl, out);
    }

    /**
     * The common miss: every entry present, every table entry already accessed, the leaf
     * allowed with its accessed/dirty state already what the access sets. Reads only; false
     * for anything else (a fault, an A/D update, a freed table, a pointer to no table), and
     * {@link #full} then walks again from the root.
     */
    private boolean common(long rootPa, long va, int need, AccessKind kind, Controls ctl, WalkResult out) {
        final long[] memoPa = out.memoPa;
        final long[][] memoWords = out.memoWords;
        // Unrolled: a constant shift per step, no loop state (see the notes).
        int i = 0;
        long grants = -1L;
        long e;
        if (last == 4) {
            e = entry(memoPa, memoWords, 0, rootPa, va, 48);
            if (!accessedTable(e)) {
                return (e & X86Format.PS) != 0 && commonLeaf(va, need, kind, ctl, out, 0, e, grants);
            }
            grants = X86Rules.grants(e);
            rootPa = e & X86Format.PA_MASK;
            i = 1;
        }
        e = entry(memoPa, memoWords, i, rootPa, va, 39);
        if (!accessedTable(e)) {
            return (e & X86Format.PS) != 0 && commonLeaf(va, need, kind, ctl, out, i, e, grants);
        }
        grants &= X86Rules.grants(e);
        e = entry(memoPa, memoWords, i + 1, e & X86Format.PA_MASK, va, 30);
        if (!accessedTable(e)) {
            return (e & X86Format.PS) != 0 && commonLeaf(va, need, kind, ctl, out, i + 1, e, grants);
        }
        grants &= X86Rules.grants(e);
        e = entry(memoPa, memoWords, i + 2, e & X86Format.PA_MASK, va, 21);
        if (!accessedTable(e)) {
            return (e & X86Format.PS) != 0 && commonLeaf(va, need, kind, ctl, out, i + 2, e, grants);
        }
        grants &= X86Rules.grants(e);
        e = entry(memoPa, memoWords, i + 3, e & X86Format.PA_MASK, va, 12);
        return commonLeaf(va, need, kind, ctl, out, i + 3, e, grants);
    }

    /** A table entry the common path may descend through: present, not a leaf, accessed, not poison. */
    private boolean accessedTable(long e) {
        return (e & (X86Format.P | X86Format.PS | X86Format.A)) == (X86Format.P | X86Format.A) && e != PageDesc.POISON;
    }

    /** The entry for {@code va} in the table at {@code tablePa}, found through level {@code i}'s memo; poison if no table there. */
    private long entry(long[] memoPa, long[][] memoWords, int i, long tablePa, long va, int shift) {
        long[] words = memoWords[i];
        if (memoPa[i] != tablePa) {
            words = mem.tableWordsOrNull(tablePa >>> 12);
            if (words == null) {
                return PageDesc.POISON;
            }
            memoPa[i] = tablePa;
            memoWords[i] = words;
        }
        return Words.getAcquire(words, (int) (va >>> shift) & 511 & (words.length - 1));
    }

    private boolean commonLeaf(long va, int need, AccessKind kind, Controls ctl, WalkResult out, int i, long e, long grants) {
        final X86Rules rules = this.rules;
        if (e == PageDesc.POISON || !fmt.isValid(e) || !leafAllowed[i]) {
            return false;
        }
        Level l = levels[i];
        long entrySize = entrySizes[i];
        if (rules.checkLeaf(l, e, entrySize) != null) {
            return false;
        }
        int fin = rules.applyControls(X86Rules.rightsOf(grants & X86Rules.grants(e)), ctl);
        if ((fin & need) != need || (need != 0 && rules.updateAccessed(e, kind) != e)) {
            return false;
        }
        if (!rules.writeCached(e)) {
            fin &= ~Rights.WRITE;
        }
        long size = rules.leafSize(l, e, entrySize);
        long base = fmt.outputAddress(l, e);
        out.fault = 0;
        out.leafPa = base;
        out.leafSize = size;
        out.pagePa = base + (va & (size - 1) & -entrySize);
        out.levelIndex = i;
        out.rights = fin;
        out.global = rules.leafGlobal(e);
        return true;
    }

    /** The whole walk, as HardwareWalker's: faults, A/D updates, restarts, the freed-table report. */
    private boolean full(long rootPa, long va, int need, AccessKind kind, Controls ctl, WalkResult out) {
        final X86Format fmt = this.fmt;
        final X86Rules rules = this.rules;
        final Level[] levels = this.levels;
        final long[] memoPa = out.memoPa;
        final long[][] memoWords = out.memoWords;
        final int last = this.last;
        restart:
        for (int attempt = 0; attempt < HardwareWalker.MAX_RESTARTS; attempt++) {
            long grants = -1L;
            long tablePa = rootPa;
            int shift = rootShift;
            for (int i = 0; i <= last; i++, shift -= 9) {
                long[] words = memoWords[i];
                if (memoPa[i] != tablePa) {
                    words = tableWords(tablePa);
                    memoPa[i] = tablePa;
                    memoWords[i] = words;
                }
                int idx = (int) (va >>> shift) & 511 & (words.length - 1);
                long e = Words.getAcquire(words, idx);
                if (e == PageDesc.POISON) {
                    generic.usedFreedTable(tablePa, idx);
                }
                Level l = levels[i];
                if (!fmt.isValid(e)) {
                    HardwareWalker.fault(out, l, FaultReason.NOT_PRESENT);
                    return false;
                }
                if (i < last && fmt.isTable(l, e)) {
                    FaultReason bad = rules.checkTable(l, e);
                    if (bad != null) {
                        HardwareWalker.fault(out, l, bad);
                        return false;
                    }
                    grants &= X86Rules.grants(e);
                    if (need != 0) {
                        long a = rules.tableAccessed(e);
                        if (a != e && Words.compareAndExchange(words, idx, e, a) != e) {
                            continue restart;
                        }
                    }
                    tablePa = fmt.outputAddress(l, e);
                    continue;
                }
                int r = leaf(va, need, kind, ctl, out, i, l, words, idx, e, grants);
                if (r >= 0) {
                    return r == 1;
                }
                continue restart;
            }
            throw new AssertionError("walk ran past the last level");
        }
        throw new IllegalStateException("hardware walk of 0x" + Long.toHexString(va) + " restarted "
                + HardwareWalker.MAX_RESTARTS + " times");
    }

    /** The words of the table at {@code pa}: the direct lookup, else the generic one (and its exception). */
    private long[] tableWords(long pa) {
        long[] w = mem.tableWordsOrNull(pa >>> 12);
        return w != null ? w : generic.table(pa).words();
    }

    /** The leaf part of {@link #walk}: 1 mapped, 0 fault, -1 restart (a CAS lost). */
    private int leaf(long va, int need, AccessKind kind, Controls ctl, WalkResult out, int i, Level l, long[] words, int idx,
            long e, long grants) {
        final X86Rules rules = this.rules;
        if (!leafAllowed[i]) {
            return HardwareWalker.fault(out, l, FaultReason.RESERVED);
        }
        long entrySize = entrySizes[i];
        FaultReason bad = rules.checkLeaf(l, e, entrySize);
        if (bad != null) {
            return HardwareWalker.fault(out, l, bad);
        }
        int raw = X86Rules.rightsOf(grants & X86Rules.grants(e));
        int fin = rules.applyControls(raw, ctl);
        if ((fin & need) != need) {
            return HardwareWalker.fault(out, l, HardwareWalker.reason(raw, need));
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
        long size = rules.leafSize(l, e, entrySize);
        long base = fmt.outputAddress(l, e);
        out.fault = 0;
        out.leafPa = base;
        out.leafSize = size;
        out.pagePa = base + (va & (size - 1) & -entrySize);
        out.levelIndex = i;
        out.rights = fin;
        out.global = rules.leafGlobal(e);
        return 1;
    }
}
