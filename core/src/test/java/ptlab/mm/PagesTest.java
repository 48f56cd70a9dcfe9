package ptlab.mm;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import ptlab.check.CheckedKernels;
import ptlab.cpu.Violation;
import ptlab.pgtable.KernelConfig;
import ptlab.phys.Gfp;
import ptlab.phys.PhysicalMemory;

/**
 * Folio references ({@link Pages}): a tail frame counts on its head, the last put frees the
 * block, and a reference on a free frame or a live table is reported and changes nothing.
 * (The put side of the last is HugeWriteFaultRaceTest#putOnAFreeFrameOrATableIsReportedNotFreed.)
 */
class PagesTest {
    @RegisterExtension
    final CheckedKernels checked = new CheckedKernels();

    @Test
    void aTailFrameCountsOnItsHeadAndTheLastPutFreesTheBlock() {
        Kernel k = checked.kernel(KernelConfig.defaults());
        PhysicalMemory mem = k.alloc.memory();
        long head = k.alloc.allocate(2, Gfp.HIGHUSER, "test").pfnOrThrow(); // refcount 1
        Pages.get(k, head + 3, "test_get_tail");
        Pages.get(k, head, "test_get_head");
        assertThat(mem.refcount(head)).isEqualTo(3);
        assertThat(mem.refcount(head + 3)).isZero();
        Pages.put(k, head + 1, "test_put_tail");
        Pages.putAll(k, new long[] {head}, 1, "test_put_head");
        assertThat(mem.refcount(head)).isEqualTo(1);
        assertThat(k.alloc.isFree(head)).isFalse();
        Pages.put(k, head + 2, "test_put_last");
        assertThat(k.alloc.isFree(head)).isTrue();
        assertThat(k.log().snapshot()).isEmpty();
    }

    @Test
    void aGetOnAFreeFrameOrATableIsReportedAndCountsNothing() {
        Kernel k = checked.kernel(KernelConfig.defaults());
        checked.expect("bad-page-ref");
        Process p = k.newProcess("t");
        PhysicalMemory mem = k.alloc.memory();
        long free = k.alloc.allocate(0, Gfp.HIGHUSER, "test").pfnOrThrow();
        k.alloc.free(free, 0);
        Pages.get(k, free, "test_get_free");
        long pgd = p.mm.pgd().pfn();
        int before = mem.refcount(pgd);
        Pages.get(k, pgd, "test_get_table");
        List<Violation> v = k.log().snapshot();
        assertThat(v).extracting(Violation::kind).containsExactly("bad-page-ref", "bad-page-ref");
        assertThat(v.get(0).detail()).contains("test_get_free").contains("the frame is free");
        assertThat(v.get(1).detail()).contains("test_get_table").contains("live page table");
        assertThat(mem.refcount(free)).isZero();
        assertThat(mem.refcount(pgd)).isEqualTo(before);
        p.exit();
    }
}
