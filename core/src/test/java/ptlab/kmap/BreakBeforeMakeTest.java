package ptlab.kmap;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import ptlab.arch.Architectures;
import ptlab.arch.Level;
import ptlab.arch.PageProt;
import ptlab.check.CheckedKernels;
import ptlab.pgtable.KernelConfig;
import ptlab.pgtable.PageTables;
import ptlab.phys.PageDesc;

/** Break-before-make, asserted as event sequences (STYLE rule 15). */
class BreakBeforeMakeTest {
    @RegisterExtension
    final CheckedKernels checked = new CheckedKernels();

    private KernelMappings boot(boolean... bbml2) {
        KernelConfig cfg = KernelConfig.of(Architectures.byName("arm64-4k-48")).withRam(1L << 30);
        return Machines.boot(checked, cfg, new Cpus(bbml2.length, bbml2));
    }

    private static List<BbmEvent.Kind> kinds(List<BbmEvent> ev) {
        List<BbmEvent.Kind> k = new ArrayList<>();
        for (BbmEvent e : ev) {
            k.add(e.kind());
        }
        return k;
    }

    /** The PMD table holding {@code va} in init_mm (after the PUD was split). */
    private static PageDesc pmdTable(KernelMappings km, long va) {
        PageTables pt = km.pageTables();
        var pud = pt.child(Level.PGD, PageTables.read(pt.initMm().pgd(), pt.geometry().index(Level.PGD, va)));
        return pt.child(Level.PUD, PageTables.read(pud, pt.geometry().index(Level.PUD, va)));
    }

    @Test
    void splitWithBbml2EverywhereReplacesLiveWithoutConflict() {
        KernelMappings km = boot(true, true);
        long va = km.layout().pageOffset() + (4L << 20);
        km.tracker().clearEvents();
        assertTrue(km.splitKernelLeafMapping(va, va + 4096).ok());
        // One page: split only at the less aligned end, va + 4K. PUD block → table of cont PMDs; the
        // PMD run holding it loses CONT (16 stores); its 2M block → cont PTEs; that PTE run loses CONT (16).
        List<BbmEvent.Kind> k = kinds(km.tracker().events());
        assertEquals(BbmEvent.Kind.REPLACE_LIVE, k.get(0));
        assertTrue(!k.contains(BbmEvent.Kind.CONFLICT), k.toString());
        assertEquals(1 + 16 + 1 + 16, k.size(), k.toString());
    }

    @Test
    void liveSplitWithACpuLackingBbml2IsAConflict() {
        KernelMappings km = boot(true, false);
        checked.expect("bbm");
        long va = km.layout().pageOffset() + (4L << 20);
        km.tracker().clearEvents();
        // Bypass the EBUSY guard: the raw split, as a buggy caller would do it.
        km.splitLock.lock();
        try {
            km.splitter().splitAt(va, TableAllocators.initMm(km.pageTables()));
        } finally {
            km.splitLock.unlock();
        }
        List<BbmEvent.Kind> k = kinds(km.tracker().events());
        assertEquals(List.of(BbmEvent.Kind.REPLACE_LIVE, BbmEvent.Kind.CONFLICT), k.subList(0, 2));
        assertTrue(km.pageTables().log().snapshot().get(0).detail().contains("cpu1[] could hold two translations"));
    }

    @Test
    void remapToADifferentOutputUsesBreakThenFlushThenMake() {
        KernelMappings km = boot(true, false);
        PageTables pt = km.pageTables();
        long va = km.layout().pageOffset() + (4L << 20);
        StopMachine.run(km.cpus(), km.tracker(), () -> {
            KmapResult r = km.splitter().rangeSplitToPtes(va, va + (2L << 20), TableAllocators.initMmGfp(pt, ptlab.phys.Gfp.ATOMIC));
            km.tracker().flushKernelRange(va & -(1L << 30), (va & -(1L << 30)) + (1L << 30));
            return r;
        });
        PageDesc pmd = pmdTable(km, va);
        int idx = pt.geometry().index(Level.PMD, va);
        long block = pt.format().mkLeaf(Level.PMD, 64L << 20, PageProt.KERNEL_RO);
        PageDesc oldPte = pt.child(Level.PMD, PageTables.read(pmd, idx));
        km.tracker().clearEvents();
        km.tracker().replace(pmd, idx, Level.PMD, va, block, false);
        assertEquals(List.of(BbmEvent.Kind.CLEAR, BbmEvent.Kind.TLBI, BbmEvent.Kind.SET), kinds(km.tracker().events()));
        assertEquals(List.of(), pt.log().snapshot());
        pt.freeTable(oldPte); // unhooked and flushed: now it may go
    }

    @Test
    void breakWithoutFlushThenMakeIsAConflict() {
        KernelMappings km = boot(true, true);
        PageTables pt = km.pageTables();
        checked.expect("bbm");
        long va = km.layout().pageOffset() + (4L << 20);
        assertTrue(km.splitKernelLeafMapping(va, va + (2L << 20)).ok());
        PageDesc pmd = pmdTable(km, va);
        int idx = pt.geometry().index(Level.PMD, va);
        km.tracker().clearEvents();
        km.tracker().write(pmd, idx, Level.PMD, va, 0L, false);
        km.tracker().write(pmd, idx, Level.PMD, va, pt.format().mkLeaf(Level.PMD, 64L << 20, PageProt.KERNEL_RO), false);
        assertEquals(List.of(BbmEvent.Kind.CLEAR, BbmEvent.Kind.SET, BbmEvent.Kind.CONFLICT), kinds(km.tracker().events()));
    }
}
