package ptlab.mmu;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.function.Consumer;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;
import ptlab.arch.Level;
import ptlab.check.CheckedKernels;
import ptlab.cpu.Violation;
import ptlab.mm.Advice;
import ptlab.mm.Errno;
import ptlab.mm.Kernel;
import ptlab.mm.Process;
import ptlab.pgtable.KernelConfig;
import ptlab.pgtable.PageTables;
import ptlab.phys.PageDesc;

/**
 * Data pages go back to the allocator only after the TLB flush that removed their last
 * translation (mmu_gather: unhook, flush, free). A CPU caches every page of a mapping, then
 * an operation frees them: {@link FreedFrameCheck} (installed by {@link CheckedKernels} on
 * every test machine) must see no TLB entry to any frame as it is freed. Zap released its
 * pages before its flush until this test came with the check, and failed it.
 */
class FreedFrameCheckTest {
    @RegisterExtension
    final CheckedKernels checked = new CheckedKernels();

    private static final long BASE = StaleTlbTest.BASE;
    private static final long HUGE = StaleTlbTest.HUGE;

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"dontneed", "munmap", "exit", "thpZap", "collapse"})
    void pagesAreFreedAfterTheirFlush(String op) {
        Kernel k = checked.kernel(KernelConfig.defaults().withRam(1L << 30));
        Process p = k.newProcess("p");
        boolean thp = op.equals("thpZap");
        long len = thp || op.equals("collapse") ? HUGE : 16 * 4096;
        assertThat(p.mmap(BASE, len, 3, false)).isEqualTo(Errno.OK);
        if (thp) {
            assertThat(p.madvise(BASE, len, Advice.HUGEPAGE)).isEqualTo(Errno.OK);
        }
        assertThat(p.touch(BASE, len, true)).isEqualTo(Errno.OK);
        CpuMmu cpu = StaleTlbTest.cachingCpu(k, p, BASE, len);
        long freesBefore = k.pageTables().allocator().frees();
        Consumer<Process> action;
        switch (op) {
            case "dontneed":
                action = q -> assertThat(q.madvise(BASE, len, Advice.DONTNEED)).isEqualTo(Errno.OK);
                break;
            case "munmap":
                action = q -> assertThat(q.munmap(BASE, len)).isEqualTo(Errno.OK);
                break;
            case "collapse":
                action = q -> assertThat(q.madvise(BASE, len, Advice.COLLAPSE)).isEqualTo(Errno.OK);
                break;
            default:
                action = q -> {
                    cpu.leave();
                    q.exit();
                };
                break;
        }
        action.accept(p);
        assertThat(k.pageTables().allocator().frees()).as("the operation freed data pages").isGreaterThan(freesBefore);
        assertThat(k.log().snapshot()).isEmpty();
        cpu.leave();
    }

    /** The negative control: a page freed while a CPU still caches it is reported, naming the frame. */
    @Test
    void aFrameFreedBeforeItsFlushIsReported() {
        Kernel k = checked.kernel(KernelConfig.defaults().withRam(1L << 30));
        Process p = k.newProcess("p");
        assertThat(p.mmap(BASE, 4096, 3, false)).isEqualTo(Errno.OK);
        assertThat(p.touch(BASE, 4096, true)).isEqualTo(Errno.OK);
        CpuMmu cpu = StaleTlbTest.cachingCpu(k, p, BASE, 4096);
        long pa = cpu.translatePa(BASE, AccessKind.READ, Privilege.USER);
        assertThat(Translation.isFault(pa)).isFalse();
        long pfn = pa >>> 12;
        // Unhook the PTE and free its page with no flush: the order the check exists to catch.
        PageDesc pte = k.installer().lookup(p.mm(), BASE, Level.PTE);
        int idx = k.pageTables().geometry().index(Level.PTE, BASE);
        PageTables.write(pte, idx, 0L);
        k.pageTables().allocator().free(pfn, 0);
        List<Violation> v = k.log().snapshot();
        assertThat(v).hasSize(1);
        assertThat(v.get(0).kind()).isEqualTo("tlb-maps-freed-frame");
        assertThat(v.get(0).detail()).contains("pa 0x" + Long.toHexString(pa), "freed before the TLB flush");
        k.log().clear();
        k.mmu().flushAll();
        cpu.leave();
    }
}
