package ptlab.cli;

import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;
import ptlab.PtlabException;
import ptlab.arch.Architecture;
import ptlab.arch.Architectures;
import ptlab.arch.Level;
import ptlab.arch.PageProt;
import ptlab.kmap.EfiMm;
import ptlab.kmap.KernelMappings;
import ptlab.kmap.KmapResult;
import ptlab.kmap.Ptdump;
import ptlab.mm.Kernel;
import ptlab.mm.Process;
import ptlab.pgtable.KernelConfig;
import ptlab.pgtable.Mm;

/**
 * {@code ptlab dump}: boots the kernel mappings of a simulated machine and lists them the way
 * {@code /sys/kernel/debug/kernel_page_tables} does, then runs the W+X check.
 */
@Command(name = "dump", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = "List kernel (or efi/user) page-table mappings ptdump-style, with the W+X check.")
final class DumpCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--arch", description = "Architecture (default: ${DEFAULT-VALUE}).", defaultValue = Architectures.DEFAULT)
    String arch;

    @Option(names = "--ram", description = "Simulated RAM, up to 16T, e.g. 4G, 512M (default: 64G, or as much as the linear map holds "
            + "where that is less).")
    String ram;

    @Option(names = "--mm", description = "Address space: kernel, efi or user (default: ${DEFAULT-VALUE}).", defaultValue = "kernel")
    String mm;

    @Option(names = "--level", description = "Only runs of leaves at this level: 0-4 or pgd, p4d, pud, pmd, pte.")
    String level;

    @Option(names = "--split", description = "Split the linear map at this offset into RAM (split_kernel_leaf_mapping of one page) first.")
    String split;

    @Override
    public Integer call() {
        Architecture a0 = Architectures.byName(arch);
        long ramBytes;
        if (ram == null) {
            ramBytes = Math.min(KernelConfig.DEFAULT_RAM, RamOption.linearCapacity(a0));
        } else {
            ramBytes = RamOption.parseFor("--ram", ram, a0);
        }
        KernelConfig cfg = KernelConfig.defaults().withArch(a0).withRam(ramBytes);
        Level only = level == null ? null : parseLevel(level);
        if (only != null && a0.geometry().isFolded(only)) {
            throw new PtlabException("--level " + level + ": " + only.kernelName() + " is folded on " + a0.name()
                    + " (no table of its own, so no leaves at that level)");
        }
        Kernel k = new Kernel(cfg);
        KernelMappings km = new KernelMappings(k);
        check(km.boot(), "boot");
        if (split != null) {
            long off = Sizes.parseOffset("--split", split);
            if (off >= cfg.ramBytes() || (off & (k.pageTables().geometry().pageSize() - 1)) != 0) {
                throw new PtlabException("--split " + split + " is not a page-aligned offset inside RAM");
            }
            long va = km.layout().linearVa(off);
            check(km.splitKernelLeafMapping(va, va + k.pageTables().geometry().pageSize()), "split");
        }
        Ptdump dump = new Ptdump(k.pageTables());
        Ptdump.Result r;
        var a = cfg.arch();
        switch (mm.toLowerCase(Locale.ROOT)) {
            case "kernel":
                r = dump.dump(k.pageTables().initMm(), a.kernelBase(), 0, Ptdump.kernelMarkers(km.layout()), only);
                break;
            case "efi": {
                EfiMm efi = new EfiMm(km, true);
                long base = 0x8000_0000L;
                check(efi.map(base, 16L << a.geometry().pageShift(), PageProt.KERNEL_RWX, true), "efi code");
                check(efi.setPermissions(base, 8L << a.geometry().pageShift(), true, false), "efi permissions");
                check(efi.map(base + (1L << 30), 4L << 20, PageProt.KERNEL_RW, false), "efi data");
                r = dump.dump(efi.mm(), 0, a.userTop(), List.of(new Ptdump.Marker(0, "EFI runtime services")), only);
                break;
            }
            case "user": {
                Process p = k.newProcess("demo");
                long page = a.geometry().pageSize();
                p.mmap(0x400000L, 64 * page, 1 | 2, false);
                p.touch(0x400000L, 64 * page, true);
                Mm m = p.mm();
                r = dump.dump(m, 0, a.userTop(), List.of(new Ptdump.Marker(0, "User space")), only);
                break;
            }
            default:
                throw new PtlabException("--mm must be kernel, efi or user: " + mm);
        }
        var out = spec.commandLine().getOut();
        for (String line : r.lines()) {
            out.println(line);
        }
        out.println(r.wxLine());
        return 0;
    }

    private static void check(KmapResult r, String what) {
        if (!r.ok()) {
            throw new PtlabException(what + ": " + r);
        }
    }

    static Level parseLevel(String s) {
        for (Level l : Level.values()) {
            if (l.kernelName().equalsIgnoreCase(s) || Integer.toString(l.depth()).equals(s)) {
                return l;
            }
        }
        throw new PtlabException("--level " + s + ": must be 0-4 or pgd, p4d, pud, pmd, pte");
    }
}
