package ptlab.mm;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import ptlab.check.CheckedKernels;
import ptlab.cpu.SimCpu;
import ptlab.mmu.AccessKind;
import ptlab.mmu.CpuMmu;
import ptlab.mmu.Privilege;
import ptlab.mmu.Translation;
import ptlab.pgtable.KernelConfig;

/**
 * A CPU that translates on its own thread while another thread exits the mm it runs: no walk
 * ever reads a table after it was freed (the hardware walk reports such a read as
 * {@code use-after-free}, which the checker after the test turns into a failure). Covers the
 * exit's lazy-TLB shootdown before {@code pgd_free} (a walk that read "not dead" just before
 * the mark finishes before the PGD goes) and an offline CPU that translates again after
 * {@code leave()} (it comes back online first, so the exit's flushes wait for its walks).
 *
 * <p>A stress test: the window is a few host instructions, so it runs many rounds; it may
 * miss a regression on a given run, never report one that is not there.
 */
class LazyTlbExitTest {
    @RegisterExtension
    final CheckedKernels kernels = new CheckedKernels();

    private static final long B = 1L << 32;
    private static final int ROUNDS = 300;

    @ParameterizedTest(name = "leave between translations: {0}")
    @ValueSource(booleans = {false, true})
    void walksNeverReadTheTablesOfAnExitingMm(boolean leaveBetween) throws Exception {
        Kernel k = kernels.kernel(KernelConfig.defaults().withRam(1L << 30));
        SimCpu cpu = new SimCpu(1);
        long frames = k.pageTables().allocator().allocatedFrames();
        for (int round = 0; round < ROUNDS; round++) {
            Process p = k.newProcess("p" + round);
            assertThat(p.mmap(B, 4L << 20, 3, false).ok() && p.touch(B, 4L << 20, true).ok()).isTrue();
            CountDownLatch running = new CountDownLatch(1);
            AtomicBoolean stop = new AtomicBoolean();
            AtomicReference<Throwable> failed = new AtomicReference<>();
            long[] after = new long[2]; // [translations after the mm died, of which mapped]
            Thread t = new Thread(() -> {
                cpu.bindCurrentThread();
                // One entry per set: every other access misses and walks from the root.
                CpuMmu m = k.mmu().attach(cpu, 1, 1);
                try {
                    m.switchMm(p.mm());
                    running.countDown();
                    for (long i = 0; !stop.get(); i++) {
                        if (leaveBetween && (i & 3) == 0) {
                            m.leave();
                        }
                        boolean dead = p.mm().isDead();
                        long va = B + ((i & 1) << 21) + ((i >>> 1) & 511) * 4096;
                        long pa = m.translatePa(va, AccessKind.READ, Privilege.USER);
                        if (dead) {
                            after[0]++;
                            if (!Translation.isFault(pa)) {
                                after[1]++;
                            }
                        }
                    }
                } catch (Throwable e) {
                    failed.set(e);
                    running.countDown();
                } finally {
                    m.leave();
                }
            }, "cpu1-round" + round);
            t.start();
            running.await();
            Thread.onSpinWait();
            p.exit();
            Thread.sleep(0, 50_000);
            stop.set(true);
            t.join();
            assertThat(failed.get()).as("round " + round).isNull();
            assertThat(after[1]).as("round %d: translations mapped after the mm was dead", round).isZero();
            assertThat(k.log().snapshot()).as("round " + round).isEmpty();
        }
        k.pageTables().rcu().synchronizeRcu();
        assertThat(k.pageTables().allocator().allocatedFrames()).as("no table or page left behind").isEqualTo(frames);
    }
}
