package ptlab.kmap;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import ptlab.arch.Architecture;
import ptlab.arch.Architectures;
import ptlab.arch.Level;
import ptlab.arch.PageProt;
import ptlab.check.CheckedKernels;
import ptlab.pgtable.PageTables;

class BootTest {
    @RegisterExtension
    final CheckedKernels checked = new CheckedKernels();

    static List<Architecture> archs() {
        return List.copyOf(Architectures.all());
    }

    @ParameterizedTest
    @MethodSource("archs")
    void linearMapCoversRamWithLargestLeaves(Architecture a) {
        long ram = Machines.ram(a, 2L << 30);
        KernelMappings km = Machines.boot(checked, a.name(), ram);
        List<Translations.Run> runs = km.linearRuns();
        assertEquals(List.of(new Translations.Run(km.layout().pageOffset(), 0, ram, PageProt.KERNEL_RW)), runs, a.name());
        Level largest = km.layout().blockLevels().stream()
                .filter(l -> a.geometry().entrySize(l) <= ram && (km.layout().pageOffset() & (a.geometry().entrySize(l) - 1)) == 0)
                .findFirst().orElseThrow();
        Translation t = Translations.translate(km.pageTables(), km.pageTables().initMm(), km.layout().pageOffset());
        assertEquals(largest, ((Translation.Mapped) t).level(), a.name() + " first linear leaf");
        // vmemmap: struct page of the last pfn is mapped.
        long lastPfn = (ram >>> a.geometry().pageShift()) - 1;
        assertTrue(Translations.translate(km.pageTables(), km.pageTables().initMm(), km.layout().structPageVa(lastPfn))
                instanceof Translation.Mapped, a.name() + " vmemmap");
    }

    @Test
    void bootTablesAreMemblockAndLaterTablesAreConstructed() {
        KernelMappings km = Machines.boot(checked, "x86_64-4l", 4L << 30);
        PageTables pt = km.pageTables();
        // Boot: the linear map's PUD table and vmemmap's PUD+PMD tables from memblock, not constructed.
        var pudTable = pt.child(Level.PGD, PageTables.read(pt.initMm().pgd(), pt.geometry().index(Level.PGD, km.layout().pageOffset())));
        assertTrue(pudTable.memblock);
        assertFalse(pudTable.pageTable);
        // preallocate_vmalloc_pages: 64 PUD tables for 32 TiB, constructed for init_mm (counted, no ptlock).
        assertEquals(64, pt.stats().ctorCalls(Level.PUD));
        long nr = pt.stats().nrPagetable();
        KernelMappings.Vmalloc v = km.vmalloc(3);
        assertTrue(v.result().ok());
        // The vmalloc area gets a PMD and a PTE table, both through the normal path.
        assertEquals(nr + 2, pt.stats().nrPagetable());
        var pte = pt.child(Level.PMD, PageTables.read(pt.child(Level.PUD, PageTables.read(
                pt.child(Level.PGD, PageTables.read(pt.initMm().pgd(), pt.geometry().index(Level.PGD, v.va()))),
                pt.geometry().index(Level.PUD, v.va()))), pt.geometry().index(Level.PMD, v.va())));
        assertTrue(pte.pageTable);
        assertEquals(null, pte.ptl);
    }

    @Test
    void arm64UsesContiguousPmdsWhereBlocksAreNotPuds() {
        // 16K granule, 47-bit VA: 32M PMD blocks in contiguous runs of 32 (1 GiB).
        KernelMappings km = Machines.boot(checked, "arm64-16k-47", 2L << 30);
        PageTables pt = km.pageTables();
        long va = km.layout().pageOffset();
        var pmd = pt.initMm().pgd();
        long e = PageTables.read(pmd, pt.geometry().index(Level.PGD, va));
        var t = pt.child(Level.PGD, e);
        long leaf = PageTables.read(t, pt.geometry().index(Level.PMD, va));
        assertTrue(pt.format().isLeaf(Level.PMD, leaf));
        assertTrue(pt.format().isCont(leaf));
    }

    @Test
    void ramLargerThanTheLinearMapIsEinval() {
        var k = checked.kernel(ptlab.pgtable.KernelConfig.of(Architectures.byName("arm64-4k-39")).withRam(1L << 40));
        KmapResult r = new KernelMappings(k).boot();
        assertEquals(ptlab.mm.Errno.EINVAL, r.errno());
    }
}
