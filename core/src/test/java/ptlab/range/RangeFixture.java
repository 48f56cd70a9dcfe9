package ptlab.range;

import java.util.ArrayList;
import java.util.List;
import ptlab.arch.Architecture;
import ptlab.arch.Architectures;
import ptlab.arch.Entry;
import ptlab.arch.Geometry;
import ptlab.arch.Level;
import ptlab.pgtable.Mm;
import ptlab.pgtable.PageTables;

/** Addresses and helpers shared by the range tests, valid on every architecture. */
public final class RangeFixture {
    private RangeFixture() {}

    public static List<String> archs() {
        return new ArrayList<>(Architectures.names());
    }

    /** A user address with room for a few of the largest leaves. */
    public static long userVa(Architecture a) {
        return 1L << (a.geometry().vaBits() - 2);
    }

    /** The first address of the kernel half. */
    public static long kernelStart(Architecture a) {
        int bits = a.geometry().vaBits();
        return a.sharesKernelHalf() ? -(1L << (bits - 1)) : -(1L << bits);
    }

    /** A kernel address aligned to every leaf size, away from the bottom of the half. */
    public static long kernelVa(Architecture a) {
        return kernelStart(a) + (1L << (a.geometry().vaBits() - 3));
    }

    /** The leaf sizes the architecture maps, smallest first. */
    public static List<Long> leafSizes(Geometry g) {
        List<Long> out = new ArrayList<>();
        List<Level> ls = g.levels();
        for (int i = ls.size() - 1; i >= 0; i--) {
            Level l = ls.get(i);
            if (l == Level.PTE || g.leafAllowed(l)) {
                out.add(g.entrySize(l));
            }
        }
        return out;
    }

    /** The leaf mapping {@code va}, or {@code null}: a plain walk from the root. */
    public static Entry.Leaf leafAt(PageTables pt, Mm mm, long va) {
        var t = mm.pgd();
        for (Level l : pt.geometry().levels()) {
            long e = PageTables.read(t, pt.geometry().index(l, va));
            if (pt.format().isTable(l, e) && l != Level.PTE) {
                t = pt.child(l, e);
                continue;
            }
            Entry d = pt.format().decode(l, e, pt.geometry());
            return d instanceof Entry.Leaf ? (Entry.Leaf) d : null;
        }
        return null;
    }

    /** Live tables below the root, all levels. */
    public static long tablesBelowRoot(PageTables pt) {
        long n = 0;
        for (Level l : pt.geometry().levels()) {
            if (l != pt.geometry().root()) {
                n += pt.stats().liveTables(l);
            }
        }
        return n;
    }
}
