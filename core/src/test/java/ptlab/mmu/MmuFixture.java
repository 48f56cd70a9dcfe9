package ptlab.mmu;

import java.util.LinkedHashMap;
import java.util.Map;
import ptlab.arch.Architecture;
import ptlab.arch.Arm64Format;
import ptlab.arch.Geometry;
import ptlab.arch.Level;
import ptlab.arch.RiscvFormat;
import ptlab.arch.X86Format;
import ptlab.check.CheckedKernels;
import ptlab.cpu.SimCpu;
import ptlab.mm.Kernel;
import ptlab.pgtable.KernelConfig;
import ptlab.pgtable.Mm;
import ptlab.pgtable.MmKind;
import ptlab.pgtable.PageTables;
import ptlab.phys.PageDesc;

/**
 * A machine with one user mm whose path to a chosen leaf the test writes by hand, with
 * literal bits (never through PteFormat.mkLeaf, so the test does not share the code under
 * test), and the calling thread attached as a CPU running that mm.
 */
final class MmuFixture {
    final Kernel k;
    final Architecture arch;
    final Geometry geo;
    final Mm mm;
    final Mmu mmu;
    final CpuMmu cpu;
    private final Map<String, Runnable> saved = new LinkedHashMap<>();

    /** Every architecture's name: the method source of the mmu tests that run on each ({@code "ptlab.mmu.MmuFixture#architectures"}). */
    static java.util.stream.Stream<String> architectures() {
        return ptlab.arch.Architectures.names().stream();
    }

    MmuFixture(CheckedKernels checked, Architecture a) {
        this.arch = a;
        this.k = checked.kernel(KernelConfig.of(a).withRam(1L << 30));
        this.geo = a.geometry();
        this.mm = k.pageTables().newMm("mmu-test", MmKind.USER);
        this.mmu = k.mmu();
        this.cpu = mmu.attach(new SimCpu(0));
        cpu.switchMm(mm);
    }

    String family() {
        return arch.format() instanceof X86Format ? "x86" : arch.format() instanceof Arm64Format ? "arm64" : "riscv";
    }

    /** The user VA used for a leaf at {@code level}: five entries in, so every upper index is non-zero somewhere. */
    long va(Level level) {
        return geo.entrySize(level) * 5;
    }

    /** The PA a leaf at {@code level} maps: one entry size (aligned, below every format's PA limit). */
    long pa(Level level) {
        return geo.entrySize(level);
    }

    /** The table holding {@code level}'s entries for {@code va}, allocated as needed. */
    PageDesc table(long va, Level level) {
        return level == geo.root() ? mm.pgd() : k.walker().installer().walkAlloc(mm, va, level, null);
    }

    /** Rewrites every table entry above {@code leafLevel} on the path of {@code va} with an attribute-free table word. */
    void neutralPath(long va, Level leafLevel) {
        for (Level l : geo.levels()) {
            if (l == leafLevel) {
                return;
            }
            PageDesc t = table(va, l);
            int i = geo.index(l, va);
            long old = PageTables.read(t, i);
            long tablePa = arch.format().outputAddress(l, old);
            write(t, i, neutralTable(tablePa));
        }
    }

    /** A table word with no attributes that restrict anything, literal bits per family. */
    long neutralTable(long tablePa) {
        switch (family()) {
            case "x86":
                return tablePa | 0x67; // P RW US A D
            case "arm64":
                return tablePa | 3 | (1L << 10); // table, AF
            default:
                return (tablePa >>> 12) << 10 | 1; // V
        }
    }

    /** Writes {@code word} as the entry of {@code level} for {@code va} and flushes every TLB. */
    void set(long va, Level level, long word) {
        write(table(va, level), geo.index(level, va), word);
        mmu.flushAll();
    }

    private void write(PageDesc t, int i, long word) {
        long old = PageTables.read(t, i);
        saved.putIfAbsent(t.pfn() + ":" + i, () -> PageTables.write(t, i, old));
        PageTables.write(t, i, word);
    }

    long get(long va, Level level) {
        return PageTables.read(table(va, level), geo.index(level, va));
    }

    /** Puts back every word the test changed (the checker then sees Linux's own tables). */
    void restore() {
        saved.values().forEach(Runnable::run);
        saved.clear();
        mmu.flushAll();
    }

    /* ---- literal leaf words ---- */

    /** x86 leaf: P A D always, plus US/RW/NX as asked; PS above the PTE level. */
    static long x86Leaf(Level level, long pa, boolean us, boolean rw, boolean nx) {
        long e = pa | 1 | (1 << 5) | (1 << 6);
        if (us) {
            e |= 1 << 2;
        }
        if (rw) {
            e |= 1 << 1;
        }
        if (nx) {
            e |= 1L << 63;
        }
        return level == Level.PTE ? e : e | (1 << 7);
    }

    /** arm64 leaf: page (11) or block (01), AF, nG, plus AP[2] (bit 7), AP[1] (bit 6), DBM (51), UXN (54), PXN (53). */
    static long arm64Leaf(Level level, long pa, boolean ap2, boolean ap1, boolean dbm, boolean uxn, boolean pxn) {
        long e = pa | (level == Level.PTE ? 3 : 1) | (1L << 10) | (1L << 11); // no SH: under LPA2 bits 9:8 are PA[51:50]
        if (ap2) {
            e |= 1L << 7;
        }
        if (ap1) {
            e |= 1L << 6;
        }
        if (dbm) {
            e |= 1L << 51;
        }
        if (uxn) {
            e |= 1L << 54;
        }
        if (pxn) {
            e |= 1L << 53;
        }
        return e;
    }

    /** RISC-V leaf: V A D plus R W X U (bits 1..4). */
    static long riscvLeaf(long pa, boolean r, boolean w, boolean x, boolean u) {
        long e = (pa >>> 12) << 10 | 1 | (1 << 6) | (1 << 7);
        return e | (r ? 2 : 0) | (w ? 4 : 0) | (x ? 8 : 0) | (u ? 16 : 0);
    }

    static {
        // The literals above must agree with the named constants (a typo check, not the logic under test).
        if (X86Format.US != 4 || Arm64Format.DBM != 1L << 51 || Arm64Format.PXN != 1L << 53 || RiscvFormat.U != 16) {
            throw new AssertionError("literal bit positions");
        }
    }
}
