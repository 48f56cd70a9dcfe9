package ptlab.kmap;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import ptlab.arch.Architecture;
import ptlab.arch.Level;
import ptlab.check.CheckedKernels;
import ptlab.pgtable.PageTables;

/**
 * A split preserves every translation: the canonical runs of the linear map before and after
 * random splits are equal, on every architecture whose linear map has blocks, and the split
 * addresses become leaf boundaries.
 */
class SplitPropertyTest {
    private static final long SEED = Long.getLong("ptlab.kmap.seed", 0x5eed_6006L);

    @RegisterExtension
    final CheckedKernels checked = new CheckedKernels();

    static List<Architecture> archs() {
        return Machines.withBlocks();
    }

    @ParameterizedTest
    @MethodSource("archs")
    void randomSplitsKeepEveryTranslation(Architecture a) {
        long ram = Machines.ram(a, 2L << 30);
        KernelMappings km = Machines.boot(checked, a.name(), ram);
        PageTables pt = km.pageTables();
        List<Translations.Run> before = km.linearRuns();
        SplittableRandom rnd = new SplittableRandom(SEED ^ a.name().hashCode());
        long page = pt.geometry().pageSize();
        long pages = ram / page;
        for (int i = 0; i < 12; i++) {
            long s = rnd.nextLong(pages);
            long len = 1 + rnd.nextLong(Math.min(pages - s, 1 + rnd.nextLong(4096)));
            long start = km.layout().linearVa(s * page);
            long end = start + len * page;
            if (rnd.nextBoolean()) {
                assertTrue(km.splitKernelLeafMapping(start, end).ok());
                assertBoundary(km, start);
                assertBoundary(km, end);
            } else {
                assertTrue(km.rangeSplitToPtes(start, end).ok());
                Translation t = Translations.translate(pt, pt.initMm(), start);
                assertEquals(Level.PTE, ((Translation.Mapped) t).level(), a + " range_split_to_ptes leaves PTEs");
                assertTrue(!pt.format().isCont(leafEntry(km, start)), a + " no CONT after range_split_to_ptes");
            }
            assertEquals(before, km.linearRuns(), a + " translations after split " + i);
        }
        assertTrue(km.splitter().tablesUsed() > 0);
    }

    /** The leaf holding {@code va} starts at {@code va}, and its contiguous group does too (or va is the end of RAM). */
    private static void assertBoundary(KernelMappings km, long va) {
        PageTables pt = km.pageTables();
        if (va == km.layout().linearVa(km.ramEnd())) {
            return;
        }
        Translation.Mapped m = (Translation.Mapped) Translations.translate(pt, pt.initMm(), va);
        long size = pt.geometry().entrySize(m.level());
        long e = leafEntry(km, va);
        if (pt.format().isCont(e)) {
            size *= pt.geometry().contiguousEntries(m.level());
        }
        assertEquals(0, va & (size - 1), pt.arch() + " 0x" + Long.toHexString(va) + " is inside a " + m.level() + " leaf of " + size);
    }

    private static long leafEntry(KernelMappings km, long va) {
        PageTables pt = km.pageTables();
        var t = pt.initMm().pgd();
        for (Level l : pt.geometry().levels()) {
            long e = PageTables.read(t, pt.geometry().index(l, va));
            if (!pt.format().isTable(l, e)) {
                return e;
            }
            t = pt.child(l, e);
        }
        throw new AssertionError();
    }

    @Test
    void pudSplitGoesToContiguousPmdsThenContiguousPtes() {
        KernelMappings km = Machines.boot(checked, "arm64-4k-48", 2L << 30);
        PageTables pt = km.pageTables();
        long va = km.layout().pageOffset() + (5L << 20) + (3L << 12); // inside the first 1G block
        assertTrue(km.splitKernelLeafMapping(va, va + 4096).ok());
        // 1G → 16-entry contiguous PMD runs → the run around va broken → 2M → contiguous PTEs → run broken.
        long pmdFar = leafEntry(km, km.layout().pageOffset() + (512L << 20));
        assertTrue(pt.format().isCont(pmdFar), "untouched PMD run keeps CONT");
        long pmdNear = leafEntry(km, km.layout().pageOffset() + (8L << 20));
        assertTrue(!pt.format().isCont(pmdNear), "the PMD run holding va lost CONT");
        long pteFar = leafEntry(km, km.layout().pageOffset() + (4L << 20) + (64L << 10) * 5);
        assertTrue(pt.format().isCont(pteFar), "untouched PTE run keeps CONT");
        assertTrue(!pt.format().isCont(leafEntry(km, va)), "the PTE run holding va lost CONT");
        assertEquals(2, km.splitter().tablesUsed());
        assertEquals(2, pt.stats().ctorCalls(Level.PMD) + pt.stats().ctorCalls(Level.PTE));
    }

    @Test
    void misalignedSplitIsEinval() {
        KernelMappings km = Machines.boot(checked, "arm64-4k-48", 1L << 30);
        assertEquals(ptlab.mm.Errno.EINVAL, km.splitKernelLeafMapping(km.layout().pageOffset() + 1, km.layout().pageOffset() + 4096).errno());
    }
}
