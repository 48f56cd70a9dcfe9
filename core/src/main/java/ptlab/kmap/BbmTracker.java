package ptlab.kmap;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import ptlab.arch.Geometry;
import ptlab.arch.Level;
import ptlab.arch.PteFormat;
import ptlab.cpu.ViolationLog;
import ptlab.pgtable.PageTables;
import ptlab.phys.PageDesc;

/**
 * The kernel-entry writer and break-before-make checker. Every store to a live kernel entry
 * goes through {@link #write}; it models what any CPU's TLB may still hold and reports a
 * {@code bbm} violation when a TLB could hold two translations for one address:
 *
 * <ul>
 * <li>a permission-only change of a leaf (same output, memory type, size) needs no break;</li>
 * <li>valid → invalid (break) leaves the old translation possibly cached until a
 *     {@link #flushKernelRange} covers it (the range is <em>pending</em>);</li>
 * <li>writing a valid entry over a pending range before that flush, or replacing a valid entry
 *     by another valid one directly, puts old and new in reach at once. That is allowed only
 *     when the change keeps every translation (a block split or a contiguous-bit change) and
 *     every CPU that is not parked has BBML2_NOABORT; the range stays pending, and CPUs parked
 *     in stop_machine must not resume before it is flushed ({@link #checkResume}).</li>
 * </ul>
 */
/*
 * Implementation notes. Pending ranges sit in a TreeMap keyed by start, disjoint and merged
 * when adjacent with the same keeps-translation flag, so the overlap query is O(log n) even
 * while a 64 GiB split replaces 32K live entries. Writes into a table that is not reachable yet
 * (a split's new table before its populate) do not come here: nothing can cache them.
 * Entries are stored with release semantics (PageTables.write): the table the entry points to
 * is complete before the store makes it reachable (the dsb(ishst) before __pmd_populate).
 */
public final class BbmTracker implements KernelTlb {
    private final Geometry geo;
    private final PteFormat fmt;
    private final ViolationLog log;
    private final Cpus cpus;
    private final List<BbmEvent> events = new ArrayList<>();
    /** start → {end, keeps (1/0)}. */
    private final TreeMap<Long, long[]> pending = new TreeMap<>(Long::compareUnsigned);
    private long flushes;
    private boolean recordSets = true;

    public BbmTracker(PageTables pt, Cpus cpus) {
        this.geo = pt.geometry();
        this.fmt = pt.format();
        this.log = pt.log();
        this.cpus = cpus;
    }

    public Cpus cpus() {
        return cpus;
    }

    /** Whether plain none→valid stores are recorded as events (off for bulk boot mapping). */
    public void recordSets(boolean on) {
        recordSets = on;
    }

    /**
     * Stores {@code value} at {@code table[index]}, a live kernel entry of {@code level} mapping
     * {@code va}.
     *
     * @param keepsTranslation the new entry maps every address of the range to the same output
     *                         with the same attributes (a split, a CONT change)
     */
    public synchronized void write(PageDesc table, int index, Level level, long va, long value, boolean keepsTranslation) {
        long old = PageTables.read(table, index);
        long size = geo.entrySize(level);
        long start = va & -size;
        long end = start + size;
        boolean oldValid = !fmt.isNone(old) && fmt.isValid(old);
        boolean newValid = !fmt.isNone(value) && fmt.isValid(value);
        if (oldValid && newValid && old != value) {
            events.add(new BbmEvent(BbmEvent.Kind.REPLACE_LIVE, level, start, end));
            if (!permissionOnly(level, old, value)) {
                conflictCheck(level, start, end, keepsTranslation, "replaced live without break-before-make");
            }
            addPending(start, end, keepsTranslation);
        } else if (oldValid && !newValid) {
            events.add(new BbmEvent(BbmEvent.Kind.CLEAR, level, start, end));
            addPending(start, end, false);
        } else if (newValid) {
            if (recordSets) {
                events.add(new BbmEvent(BbmEvent.Kind.SET, level, start, end));
            }
            Map.Entry<Long, long[]> hit = overlap(start, end);
            if (hit != null) {
                conflictCheck(level, start, end, keepsTranslation && hit.getValue()[1] == 1, "set before the break was flushed");
            }
        }
        PageTables.write(table, index, value);
    }

    /**
     * Leaf → leaf at one level with the same output address, memory type and contiguous bit: a
     * permission change, which the architecture allows without break-before-make (the stale
     * entry only needs the flush that follows).
     */
    private boolean permissionOnly(Level level, long old, long value) {
        return fmt.isLeaf(level, old) && fmt.isLeaf(level, value) && fmt.outputAddress(level, old) == fmt.outputAddress(level, value)
                && fmt.prot(level, old).type() == fmt.prot(level, value).type() && fmt.isCont(old) == fmt.isCont(value);
    }

    private void conflictCheck(Level level, long start, long end, boolean keeps, String what) {
        for (Cpus.Cpu c : cpus.all()) {
            if (c.parked()) {
                continue;
            }
            if (!keeps || !c.has(CpuFeature.BBML2_NOABORT)) {
                events.add(new BbmEvent(BbmEvent.Kind.CONFLICT, level, start, end));
                log.record("bbm", level + " entry for [0x" + Long.toHexString(start) + ", 0x" + Long.toHexString(end) + ") " + what
                        + (keeps ? "" : " changing the translation") + ": " + c + " could hold two translations for one address");
                return;
            }
        }
    }

    /**
     * Replaces a live entry the safe way: directly when the change keeps every translation and
     * {@code system_supports_bbml2_noabort()}, else break-before-make - invalid, flush the range,
     * then the new entry.
     */
    public synchronized void replace(PageDesc table, int index, Level level, long va, long value, boolean keepsTranslation) {
        if (keepsTranslation && cpus.systemSupportsBbml2NoAbort()) {
            write(table, index, level, va, value, true);
            return;
        }
        long size = geo.entrySize(level);
        write(table, index, level, va, 0L, false);
        flushKernelRange(va & -size, (va & -size) + size);
        write(table, index, level, va, value, keepsTranslation);
    }

    @Override
    public synchronized void flushKernelRange(long start, long end) {
        events.add(new BbmEvent(BbmEvent.Kind.TLBI, null, start, end));
        flushes++;
        ptlab.events.Tracepoints.tlbFlush("kernel", "init_mm", start, end, cpus.all().size() - 1);
        // Trim every pending range by [start, end).
        List<long[]> keep = new ArrayList<>();
        var it = pending.entrySet().iterator();
        while (it.hasNext()) {
            Map.Entry<Long, long[]> e = it.next();
            long s = e.getKey();
            long en = e.getValue()[0];
            if (Long.compareUnsigned(en, start) <= 0 || Long.compareUnsigned(s, end) >= 0) {
                continue;
            }
            it.remove();
            if (Long.compareUnsigned(s, start) < 0) {
                keep.add(new long[] {s, start, e.getValue()[1]});
            }
            if (Long.compareUnsigned(en, end) > 0) {
                keep.add(new long[] {end, en, e.getValue()[1]});
            }
        }
        for (long[] k : keep) {
            pending.put(k[0], new long[] {k[1], k[2]});
        }
    }

    /** CPUs leaving stop_machine: any that lacks BBML2_NOABORT must find no stale translation left. */
    public synchronized void checkResume(List<Cpus.Cpu> resuming) {
        if (pending.isEmpty()) {
            return;
        }
        for (Cpus.Cpu c : resuming) {
            if (!c.has(CpuFeature.BBML2_NOABORT)) {
                Map.Entry<Long, long[]> e = pending.firstEntry();
                events.add(new BbmEvent(BbmEvent.Kind.CONFLICT, null, e.getKey(), e.getValue()[0]));
                log.record("bbm", c + " resumes from stop_machine while [0x" + Long.toHexString(e.getKey()) + ", 0x"
                        + Long.toHexString(e.getValue()[0]) + ") was changed and not flushed: its TLB could hold two translations");
                return;
            }
        }
    }

    private void addPending(long start, long end, boolean keeps) {
        long k = keeps ? 1 : 0;
        Map.Entry<Long, long[]> below = pending.floorEntry(start);
        if (below != null && Long.compareUnsigned(below.getValue()[0], start) >= 0) {
            // Overlapping or adjacent: widen it (a non-keeping change wins).
            long[] v = below.getValue();
            if (Long.compareUnsigned(end, v[0]) > 0) {
                v[0] = end;
            }
            v[1] = Math.min(v[1], k);
            return;
        }
        pending.put(start, new long[] {end, k});
    }

    private Map.Entry<Long, long[]> overlap(long start, long end) {
        Map.Entry<Long, long[]> below = pending.floorEntry(start);
        if (below != null && Long.compareUnsigned(below.getValue()[0], start) > 0) {
            return below;
        }
        Map.Entry<Long, long[]> above = pending.ceilingEntry(start);
        if (above != null && Long.compareUnsigned(above.getKey(), end) < 0) {
            return above;
        }
        return null;
    }

    /** Whether some change is not yet flushed. */
    public synchronized boolean hasPending() {
        return !pending.isEmpty();
    }

    public synchronized long flushes() {
        return flushes;
    }

    /** A copy of the events so far. */
    public synchronized List<BbmEvent> events() {
        return new ArrayList<>(events);
    }

    public synchronized void clearEvents() {
        events.clear();
    }
}
