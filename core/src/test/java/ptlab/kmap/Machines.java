package ptlab.kmap;

import java.util.HashSet;
import java.util.Set;
import ptlab.arch.Architecture;
import ptlab.arch.Architectures;
import ptlab.arch.Level;
import ptlab.check.CheckedKernels;
import ptlab.mm.Kernel;
import ptlab.pgtable.KernelConfig;
import ptlab.pgtable.Mm;
import ptlab.pgtable.PageTables;
import ptlab.phys.PageDesc;

/** Shared set-up for kernel-mapping tests: booted machines and frame accounting. */
final class Machines {
    private Machines() {}

    /** RAM that is a whole number of buddy blocks and of the largest linear-map leaf (at least {@code min}). */
    static long ram(Architecture a, long min) {
        long unit = 1L << (a.geometry().pageShift() + 10);
        KernelLayout l = KernelLayout.of(a);
        long leaf = a.geometry().entrySize(l.blockLevels().get(0));
        long u = Math.max(unit, Math.min(leaf, 1L << 32));
        return Math.max(u, (min + u - 1) / u * u);
    }

    static KernelMappings boot(CheckedKernels checked, KernelConfig cfg, Cpus cpus) {
        Kernel k = checked.kernel(cfg);
        KernelMappings km = new KernelMappings(k, cpus, false);
        KmapResult r = km.boot();
        if (!r.ok()) {
            throw new AssertionError("boot of " + cfg.arch() + ": " + r);
        }
        return km;
    }

    static KernelMappings boot(CheckedKernels checked, String arch, long ram) {
        return boot(checked, KernelConfig.of(Architectures.byName(arch)).withRam(ram), Cpus.single());
    }

    /** Architectures whose linear map has blocks. */
    static java.util.List<Architecture> withBlocks() {
        java.util.List<Architecture> out = new java.util.ArrayList<>();
        for (Architecture a : Architectures.all()) {
            if (KernelLayout.of(a).blockLevels().size() > 1) {
                out.add(a);
            }
        }
        return out;
    }

    /** Frames held by tables reachable from the mms (the kernel half of user PGDs counted once, in init_mm). */
    static long tableFrames(PageTables pt) {
        Set<Long> seen = new HashSet<>();
        long n = 0;
        for (Mm mm : pt.mms()) {
            n += frames(pt, mm, mm.pgd(), pt.geometry().root(), seen);
        }
        return n;
    }

    private static long frames(PageTables pt, Mm mm, PageDesc t, Level level, Set<Long> seen) {
        if (!seen.add(t.pfn())) {
            return 0;
        }
        long n = 1L << t.order;
        if (level == Level.PTE) {
            return n;
        }
        java.util.List<Level> ls = pt.geometry().levels();
        Level lower = ls.get(ls.indexOf(level) + 1);
        for (int i = 0; i < pt.geometry().entries(level); i++) {
            long e = PageTables.read(t, i);
            if (pt.format().isTable(level, e)) {
                n += frames(pt, mm, pt.child(level, e), lower, seen);
            }
        }
        return n;
    }
}
