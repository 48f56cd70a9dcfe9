package ptlab.mm;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import ptlab.check.CheckedKernels;
import ptlab.cpu.SimCpu;
import ptlab.mmu.AccessKind;
import ptlab.mmu.CpuMmu;
import ptlab.mmu.Privilege;
import ptlab.mmu.Translation;
import ptlab.pgtable.KernelConfig;

/**
 * An emulator's vCPU thread handles a translation fault by calling {@link Process#touch} (its
 * {@code handle_mm_fault}) while another thread's mprotect holds mmap_lock and flushes: the
 * flush must not wait for the vCPU's ack, since the vCPU waits for that lock. Before, the
 * flusher waited 10 s and threw LockProtocolError ("not acknowledged by cpu1").
 */
class CpuThreadCallsTest {
    @RegisterExtension
    final CheckedKernels kernels = new CheckedKernels();

    private static final long B = 0x7f0000000000L;

    @Test
    void aCpuWaitingInAProcessCallDoesNotHoldUpAFlush() throws Exception {
        Kernel k = kernels.kernel(KernelConfig.defaults().withRam(1L << 30));
        Process p = k.newProcess("guest");
        assertThat(p.mmap(B, 4L << 20, 3, false)).isEqualTo(Errno.OK);
        assertThat(p.touch(B, 4096, true)).isEqualTo(Errno.OK);
        CountDownLatch online = new CountDownLatch(1);
        AtomicReference<Object> outcome = new AtomicReference<>();
        Thread vcpu = new Thread(() -> {
            new SimCpu(1).bindCurrentThread();
            CpuMmu m = k.mmu().attach(SimCpu.current());
            try {
                m.switchMm(p.mm());
                outcome.set(m.translate(B, AccessKind.READ, Privilege.USER)); // online in the guest's ASID
                online.countDown();
                outcome.set(p.touch(B + 4096, 4096, true)); // waits for mmap_lock, held below
                outcome.set(m.translate(B + 4096, AccessKind.WRITE, Privilege.USER)); // back online
            } catch (Throwable e) {
                outcome.set(e);
                online.countDown();
            } finally {
                m.leave();
            }
        }, "vcpu1");
        p.mm().mmapLock().writeLock(); // as mprotect does, around its flush
        try {
            vcpu.start();
            assertThat(online.await(10, TimeUnit.SECONDS)).isTrue();
            assertThat(outcome.get()).isInstanceOf(Translation.Mapped.class);
            while (vcpu.getState() != Thread.State.WAITING) {
                assertThat(vcpu.isAlive()).as("vcpu1 reached mmap_lock").isTrue();
                Thread.onSpinWait();
            }
            k.mmu().flushMm(p.mm());
        } finally {
            p.mm().mmapLock().writeUnlock();
        }
        vcpu.join();
        assertThat(outcome.get()).as("the vCPU's write after its fault").isInstanceOf(Translation.Mapped.class);
        p.exit();
    }
}
