package ptlab.mmu;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.AbstractQueuedSynchronizer;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Consumer;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;
import ptlab.arch.Level;
import ptlab.check.CheckedKernels;
import ptlab.cpu.SimCpu;
import ptlab.cpu.SpinLock;
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

    /**
     * {@code wp_page_copy}: the COW fault decides to copy while the page is shared (after fork),
     * but the other mapping may go before it takes the PTE lock; its put of the old page is then
     * the last one and frees it. The old PTE must be cleared and flushed before that put
     * ({@code ptep_clear_flush}, then {@code folio_put}), or the frame is freed while the
     * faulting CPU still caches it. The interleaving is forced: the test holds the parent's PTE
     * lock while the fault (already past its lockless peek and its allocation) waits for it and
     * the child unmaps its copy.
     */
    @Test
    void aCowCopyWhoseOldPageLostItsOtherMappingFreesItAfterTheFlush() throws Exception {
        Kernel k = checked.kernel(KernelConfig.defaults().withRam(1L << 30));
        Process p = k.newProcess("p");
        assertThat(p.mmap(BASE, 4096, 3, false)).isEqualTo(Errno.OK);
        assertThat(p.touch(BASE, 4096, true)).isEqualTo(Errno.OK);
        Process c = p.fork("c"); // the page is shared, read-only in both, refcount 2
        PageDesc pte = k.installer().lookup(p.mm(), BASE, Level.PTE);
        long oldPfn = k.pageTables().format().outputAddress(Level.PTE,
                PageTables.read(pte, k.pageTables().geometry().index(Level.PTE, BASE))) >>> 12;
        SpinLock ptl = k.pageTables().pteLockptr(p.mm(), pte);
        AtomicReference<Throwable> failure = new AtomicReference<>();
        CountDownLatch cached = new CountDownLatch(1);
        Thread faulter = new Thread(() -> {
            try {
                CpuMmu cpu = k.mmu().attach(SimCpu.current());
                cpu.switchMm(p.mm());
                assertThat(Translation.isFault(cpu.translatePa(BASE, AccessKind.READ, Privilege.USER))).isFalse(); // cached read-only
                cached.countDown();
                assertThat(p.touch(BASE, 4096, true)).isEqualTo(Errno.OK); // the COW fault: copies, waits for the PTE lock
                cpu.leave();
            } catch (Throwable t) {
                failure.set(t);
                cached.countDown();
            }
        }, "cow-fault");
        faulter.setDaemon(true);
        ptl.lock();
        try {
            faulter.start();
            cached.await();
            // Wait until the fault is parked on the PTE lock (pte_offset_map_lock): past its peek and allocation.
            long deadline = System.nanoTime() + 10_000_000_000L;
            while (!(LockSupport.getBlocker(faulter) instanceof AbstractQueuedSynchronizer)) {
                assertThat(faulter.isAlive()).as("the fault must wait for the PTE lock the test holds").isTrue();
                assertThat(System.nanoTime()).as("the fault reaches the PTE lock").isLessThan(deadline);
                Thread.sleep(1);
            }
            Thread unmapper = new Thread(() -> {
                try {
                    assertThat(c.munmap(BASE, 4096)).isEqualTo(Errno.OK);
                } catch (Throwable t) {
                    failure.set(t);
                }
            }, "child-munmap");
            unmapper.start(); // the child's mapping goes: the old page is now the parent's alone
            unmapper.join();
            assertThat(k.pageTables().allocator().isFree(oldPfn)).isFalse();
        } finally {
            ptl.unlock();
        }
        faulter.join();
        assertThat(failure.get()).isNull();
        assertThat(k.pageTables().allocator().isFree(oldPfn)).as("the copy's put of the old page was the last").isTrue();
        assertThat(k.log().snapshot()).isEmpty();
        c.exit();
        p.exit();
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
