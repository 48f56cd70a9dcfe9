package ptlab.range;

import ptlab.arch.Level;
import ptlab.arch.PteFormat;
import ptlab.arch.SizeNames;
import ptlab.phys.PageDesc;
import ptlab.phys.Words;
import ptlab.walk.Action;
import ptlab.walk.WalkCursor;
import ptlab.walk.WalkOps;

/**
 * Read-only pre-checks that let an operation fail before it changes anything: finds the first
 * entry a map to {@code leafLevel} would overwrite ({@link #forMap}), or the first huge leaf the
 * range covers only in part ({@link #forSplitFree}). Stops at the first finding.
 */
final class Probe implements WalkOps {
    private final PteFormat fmt;
    private final Level leafLevel;
    private final boolean map;
    private final long rangeStart;
    private final long rangeEnd;
    private final ptlab.arch.Geometry geo;
    String conflict;

    private Probe(PageRanges r, Level leafLevel, boolean map, long start, long end) {
        this.fmt = r.pt.format();
        this.geo = r.pt.geometry();
        this.leafLevel = leafLevel;
        this.map = map;
        this.rangeStart = start;
        this.rangeEnd = end;
    }

    /** A map of {@code [start, end)} with leaves at {@code leafLevel} needs every entry on the way to be none or a table above it. */
    static Probe forMap(PageRanges r, Level leafLevel, long start, long end) {
        return new Probe(r, leafLevel, true, start, end);
    }

    /** An unmap or protect may not cut a huge leaf: each one met must lie wholly inside {@code [start, end)}. */
    static Probe forSplitFree(PageRanges r, long start, long end) {
        return new Probe(r, null, false, start, end);
    }

    @Override
    public Action table(WalkCursor c) {
        if (map && c.level() == leafLevel) {
            return found("a table", c);
        }
        return Action.CONTINUE;
    }

    @Override
    public Action hugeLeaf(WalkCursor c) {
        if (map) {
            return found("a " + SizeNames.of(geo.entrySize(c.level())) + " leaf", c);
        }
        long span = geo.entrySize(c.level());
        long s = c.addr() & -span;
        if (Long.compareUnsigned(s, rangeStart) < 0 || Long.compareUnsigned(s + span - 1, rangeEnd - 1) > 0) {
            conflict = "the range [0x" + Long.toHexString(rangeStart) + ", 0x" + Long.toHexString(rangeEnd) + ") cuts the "
                    + SizeNames.of(span) + " leaf at 0x" + Long.toHexString(s) + " (split it first)";
            return Action.STOP;
        }
        return Action.CONTINUE;
    }

    @Override
    public Action hole(WalkCursor c) {
        if (!fmt.isNone(c.entry())) {
            return found("a non-present entry 0x" + Long.toHexString(c.entry()), c);
        }
        return Action.CONTINUE;
    }

    @Override
    public Action pteRange(WalkCursor c, PageDesc table, int from, int to, long addr, long pageSize) {
        if (!map) {
            return Action.CONTINUE;
        }
        long[] w = table.words();
        for (int i = from; i < to; i++, addr += pageSize) {
            long e = Words.getAcquire(w, i);
            if (!fmt.isNone(e)) {
                conflict = "0x" + Long.toHexString(addr) + " is already mapped (PTE 0x" + Long.toHexString(e) + ")";
                return Action.STOP;
            }
        }
        return Action.CONTINUE;
    }

    private Action found(String what, WalkCursor c) {
        conflict = "0x" + Long.toHexString(c.addr()) + " is already mapped (" + what + " at " + c.level().kernelName() + " level)";
        return Action.STOP;
    }
}
