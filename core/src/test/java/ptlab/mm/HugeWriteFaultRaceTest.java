package ptlab.mm;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import ptlab.check.CheckedKernels;
import ptlab.cpu.Violation;
import ptlab.pgtable.KernelConfig;
import ptlab.pgtable.PageTables;
import ptlab.pgtable.ThpMode;
import ptlab.phys.PageDesc;

/**
 * Regression tests for issue 7's flaky stress run: a write fault on a huge PMD that a
 * concurrent MADV_DONTNEED zaps between the fault walk's read ({@code vmf->orig_pmd}) and the
 * huge write fault. The interleaving is forced: the snapshot is taken, the PMD zapped, then
 * the huge fault runs on the stale snapshot. Before the fix it re-read the (now none) PMD and
 * installed a "huge leaf" of pfn 0; the next zap freed swapper_pg_dir.
 */
class HugeWriteFaultRaceTest {
    @RegisterExtension
    final CheckedKernels checked = new CheckedKernels();

    private static final long ADDR = 0x7f00_0000_0000L;
    private static final long TWO_MB = 2L << 20;

    @Test
    void shmemPmdZappedUnderTheWriteFaultStaysNone() {
        Kernel k = checked.kernel(KernelConfig.defaults());
        Process p = k.newProcess("t");
        assertThat(p.mmap(ADDR, TWO_MB, 3, true).ok()).isTrue();
        assertThat(p.touch(ADDR, TWO_MB, true).ok()).isTrue();
        assertThat(p.madvise(ADDR, TWO_MB, Advice.COLLAPSE).ok()).isTrue();
        // A shared writable shmem PMD is writable from the collapse on (vm_page_prot grants
        // write), so the write fault sees a read-only PMD only where write-notify or uffd-wp
        // protects it; the stale snapshot plays that read-only PMD.
        assertThat(k.fmt.isWrite(pmdOf(k, p))).isTrue();
        runStaleSnapshot(k, p, true);
        // The fault done the kernel way (split, VM_FAULT_FALLBACK, refault remaps the PMD writable).
        assertThat(p.touch(ADDR, TWO_MB, true).ok()).isTrue();
        long pmd = pmdOf(k, p);
        assertThat(k.fmt.isLeaf(k.pmdLevel, pmd)).isTrue();
        assertThat(k.fmt.isWrite(pmd)).isTrue();
        p.exit();
    }

    @Test
    void anonymousHugeZeroPmdZappedUnderTheWriteFaultStaysNone() {
        Kernel k = checked.kernel(KernelConfig.defaults().withThp(ThpMode.ALWAYS));
        Process p = k.newProcess("t");
        assertThat(p.mmap(ADDR, TWO_MB, 3, false).ok()).isTrue();
        assertThat(p.touch(ADDR, 4096, false).ok()).isTrue(); // the huge zero page
        assertThat(k.fmt.isLeaf(k.pmdLevel, pmdOf(k, p))).isTrue();
        runStaleSnapshot(k, p, false);
        p.exit();
    }

    /**
     * Takes orig_pmd (write-protected if {@code wrprotect}), zaps the PMD (MADV_DONTNEED), then
     * runs the huge write fault on the stale snapshot.
     */
    private static void runStaleSnapshot(Kernel k, Process p, boolean wrprotect) {
        PageDesc pmdTable = k.installer.lookup(p.mm, ADDR, k.pmdLevel);
        int idx = k.geo.index(k.pmdLevel, ADDR);
        long orig = PageTables.read(pmdTable, idx);
        if (wrprotect) {
            orig = k.fmt.wrprotect(orig);
        }
        assertThat(k.fmt.isLeaf(k.pmdLevel, orig)).isTrue();
        assertThat(k.fmt.isWrite(orig)).isFalse();
        assertThat(p.madvise(ADDR, TWO_MB, Advice.DONTNEED).ok()).isTrue();
        Vma v = p.vmaAt(ADDR);
        boolean done = Thp.hugeWriteFault(p, v, ADDR, true, pmdTable, idx, orig);
        assertThat(done).as("a changed PMD sends the fault back to the walk").isFalse();
        assertThat(PageTables.read(pmdTable, idx)).as("no leaf is made from a none PMD").isZero();
        assertThat(k.log().snapshot()).isEmpty();
    }

    private static long pmdOf(Kernel k, Process p) {
        return PageTables.read(k.installer.lookup(p.mm, ADDR, k.pmdLevel), k.geo.index(k.pmdLevel, ADDR));
    }

    /** The detector: a reference put on a free frame or on a page table is reported, naming the caller, and changes nothing. */
    @Test
    void putOnAFreeFrameOrATableIsReportedNotFreed() {
        Kernel k = checked.kernel(KernelConfig.defaults());
        checked.expect("bad-page-ref");
        Process p = k.newProcess("t");
        long free = k.alloc.allocate(0, ptlab.phys.Gfp.HIGHUSER, "test").pfnOrThrow();
        k.alloc.free(free, 0);
        Pages.put(k, free, "test_put_free");
        long pgd = p.mm.pgd().pfn();
        Pages.put(k, pgd, "test_put_table");
        List<Violation> v = k.log().snapshot();
        assertThat(v).extracting(Violation::kind).containsOnly("bad-page-ref");
        assertThat(v).hasSize(2);
        assertThat(v.get(0).detail()).contains("test_put_free").contains("the frame is free");
        assertThat(v.get(1).detail()).contains("test_put_table").contains("live page table");
        assertThat(k.alloc.memory().isAllocated(pgd)).isTrue();
        p.exit();
    }
}
