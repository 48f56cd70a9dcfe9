package ptlab.kmap;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import ptlab.arch.Geometry;
import ptlab.arch.Level;
import ptlab.arch.PageProt;
import ptlab.arch.PteFormat;
import ptlab.arch.SizeNames;
import ptlab.pgtable.Mm;
import ptlab.pgtable.PageTables;
import ptlab.phys.PageDesc;
import ptlab.walk.Action;
import ptlab.walk.WalkCursor;
import ptlab.walk.WalkOps;
import ptlab.walk.WalkOptions;

/**
 * A ptdump-style listing ({@code mm/ptdump.c}, {@code arch/x86/mm/dump_pagetables.c},
 * {@code arch/arm64/mm/ptdump.c}; {@code /sys/kernel/debug/kernel_page_tables}): one line per
 * run of consecutive leaves of one level with identical attributes, region markers, and the
 * W+X check ({@code ptdump_check_wx}).
 */
/*
 * Implementation notes. A visitor of the walk engine; note() is ptdump's note_page: a new
 * line starts when the level, the attributes or contiguity of the address change, or a marker
 * is crossed. Holes end a run and are not printed.
 */
public final class Ptdump {
    /** A named region start, e.g. "Linear Mapping". */
    public record Marker(long va, String name) {}

    /** The listing and the W+X count. */
    public record Result(List<String> lines, long wxPages) {
        public String wxLine() {
            return wxPages == 0 ? "Checked W+X mappings: passed, no W+X pages found."
                    : "Checked W+X mappings: FAILED, " + wxPages + " W+X pages found.";
        }
    }

    private final PageTables pt;
    private final Geometry geo;
    private final PteFormat fmt;

    public Ptdump(PageTables pt) {
        this.pt = pt;
        this.geo = pt.geometry();
        this.fmt = pt.format();
    }

    /** The markers of init_mm's layout, in address order. */
    public static List<Marker> kernelMarkers(KernelLayout l) {
        List<Marker> m = new ArrayList<>(List.of(new Marker(l.pageOffset(), "Linear Mapping start"),
                new Marker(l.vmallocStart(), "vmalloc() area"), new Marker(l.vmemmapStart(), "vmemmap start")));
        m.sort((a, b) -> Long.compareUnsigned(a.va(), b.va()));
        return m;
    }

    /**
     * Dumps {@code [start, end)} of {@code mm} ({@code end == 0}: to 2^64, the top of the kernel
     * half). The range lies in one half of the address space: a user mm's whole listing is
     * {@code [0, arch().userTop())}, init_mm's {@code [arch().kernelBase(), 0)}.
     *
     * @throws ptlab.InvalidAddressException if the range is misaligned or leaves one half
     *
     * @param onlyLevel print only runs at this level ({@code null}: all)
     */
    public Result dump(Mm mm, long start, long end, List<Marker> markers, Level onlyLevel) {
        State st = new State(markers, onlyLevel);
        new ptlab.walk.Walker(pt).walk(mm, start, end, st, WalkOptions.UNLOCKED);
        st.flush();
        return new Result(st.lines, st.wx);
    }

    private final class State implements WalkOps {
        final List<String> lines = new ArrayList<>();
        final List<Marker> markers;
        final Level onlyLevel;
        int nextMarker;
        long wx;
        long runStart = -1;
        long runEnd;
        Level runLevel;
        String runAttrs;

        State(List<Marker> markers, Level onlyLevel) {
            this.markers = markers;
            this.onlyLevel = onlyLevel;
        }

        @Override
        public Action hugeLeaf(WalkCursor c) {
            note(c.addr(), c.end(), c.level(), c.entry());
            return Action.CONTINUE;
        }

        @Override
        public Action hole(WalkCursor c) {
            flush();
            return Action.CONTINUE;
        }

        @Override
        public Action pteRange(WalkCursor c, PageDesc table, int from, int to, long addr, long pageSize) {
            for (int i = from; i < to; i++, addr += pageSize) {
                long e = PageTables.read(table, i);
                if (fmt.isNone(e)) {
                    flush();
                } else {
                    note(addr, addr + pageSize, Level.PTE, e);
                }
            }
            return Action.CONTINUE;
        }

        private void note(long start, long end, Level level, long e) {
            boolean valid = fmt.isValid(e);
            PageProt p = fmt.prot(level, e);
            String attrs = attrs(p, valid, fmt.isCont(e));
            if (valid && p.write() && p.exec() && !p.user()) {
                wx += (end - start) >>> geo.pageShift();
            }
            boolean crossesMarker = nextMarker < markers.size() && Long.compareUnsigned(markers.get(nextMarker).va(), start) <= 0;
            if (runStart != -1 && runEnd == start && runLevel == level && Objects.equals(runAttrs, attrs) && !crossesMarker) {
                runEnd = end;
                return;
            }
            flush();
            while (nextMarker < markers.size() && Long.compareUnsigned(markers.get(nextMarker).va(), start) <= 0) {
                lines.add("---[ " + markers.get(nextMarker++).name() + " ]---");
            }
            runStart = start;
            runEnd = end;
            runLevel = level;
            runAttrs = attrs;
        }

        void flush() {
            if (runStart == -1) {
                return;
            }
            if (onlyLevel == null || onlyLevel == runLevel) {
                lines.add(String.format("0x%016x-0x%016x %9s %-4s %s", runStart, runEnd, SizeNames.of(runEnd - runStart), runLevel.kernelName(),
                        runAttrs));
            }
            runStart = -1;
        }
    }

    static String attrs(PageProt p, boolean valid, boolean cont) {
        if (!valid) {
            return "    not-valid";
        }
        return (p.user() ? "USR " : "    ") + (p.write() ? "RW " : "ro ") + (p.exec() ? "x  " : "NX ") + (p.global() ? "GLB " : "    ")
                + (cont ? "CON " : "    ") + (p.young() ? "AF " : "   ") + p.type();
    }
}
