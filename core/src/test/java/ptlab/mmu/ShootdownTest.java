package ptlab.mmu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.RepeatedTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import ptlab.check.CheckedKernels;
import ptlab.cpu.SimCpu;
import ptlab.mm.Advice;
import ptlab.mm.Errno;
import ptlab.mm.Kernel;
import ptlab.mm.Process;
import ptlab.pgtable.KernelConfig;

/**
 * Real threads as CPUs translating in a hot loop while another thread unmaps and
 * write-protects: once the operation has returned (its shootdown completed), no CPU may
 * translate through an old entry, and no in-flight hardware walk may read a freed table
 * (the checker would report the use-after-free).
 */
class ShootdownTest {
    @RegisterExtension
    final CheckedKernels checked = new CheckedKernels();

    private static final long BASE = 0x4000_0000L;
    private static final int PAGES = 64;

    @RepeatedTest(5)
    void noCpuUsesAFlushedEntryAfterTheFlushCompletes() throws Exception {
        Kernel k = checked.kernel(KernelConfig.defaults().withRam(1L << 30));
        Process p = k.newProcess("p");
        long len = PAGES * 4096L;
        assertEquals(Errno.OK, p.mmap(BASE, len, 3, false));
        assertEquals(Errno.OK, p.touch(BASE, len, true));
        // Phase flags set by the operating thread after each operation returned.
        AtomicInteger phase = new AtomicInteger();
        AtomicReference<String> bad = new AtomicReference<>();
        AtomicInteger translations = new AtomicInteger();
        CountDownLatch running = new CountDownLatch(2);
        List<Thread> cpus = new ArrayList<>();
        for (int id = 1; id <= 2; id++) {
            SimCpu sc = new SimCpu(id);
            Thread t = new Thread(() -> {
                sc.bindCurrentThread();
                CpuMmu cpu = k.mmu().attach(sc);
                cpu.switchMm(p.mm());
                running.countDown();
                long n = 0;
                int i = 0;
                while (true) {
                    int ph = phase.get(); // read before the translation starts
                    if (ph == 3) {
                        break;
                    }
                    long va = BASE + (i++ % PAGES) * 4096L;
                    long w = cpu.translatePa(va, AccessKind.WRITE, Privilege.USER);
                    boolean lowHalf = va < BASE + len / 2;
                    if (ph >= 1 && lowHalf && !Translation.isFault(w)) {
                        bad.compareAndSet(null, cpu + " wrote unmapped 0x" + Long.toHexString(va) + " after munmap returned");
                    }
                    if (ph >= 2 && !lowHalf && !Translation.isFault(w)) {
                        bad.compareAndSet(null, cpu + " wrote 0x" + Long.toHexString(va) + " after mprotect(PROT_READ) returned");
                    }
                    n++;
                }
                translations.addAndGet((int) Math.min(n, Integer.MAX_VALUE));
                cpu.leave();
            }, "cpu" + id);
            cpus.add(t);
            t.start();
        }
        running.await();
        Thread.sleep(5);
        assertEquals(Errno.OK, p.munmap(BASE, len / 2));
        phase.set(1);
        Thread.sleep(5);
        assertEquals(Errno.OK, p.mprotect(BASE + len / 2, len / 2, 1));
        phase.set(2);
        Thread.sleep(5);
        phase.set(3);
        for (Thread t : cpus) {
            t.join(30_000);
        }
        assertEquals(null, bad.get());
        assertTrue(translations.get() > 0);
        assertTrue(k.mmu().audit().isEmpty());
    }

    /**
     * A THP block entry hits on the fast path, at any offset in its block, but not while a
     * shootdown is pending on the CPU: the poisoned tag gates the block probe as it gates the
     * base probe, so the queued flush is applied first.
     */
    @Test
    void aBlockEntryDoesNotHitWhileAFlushIsPending() {
        Kernel k = checked.kernel(KernelConfig.defaults().withRam(1L << 30));
        Process p = k.newProcess("p");
        long thp = 0x8000_0000L;
        long huge = 2L << 20;
        assertEquals(Errno.OK, p.mmap(thp, huge, 3, false));
        assertEquals(Errno.OK, p.madvise(thp, huge, Advice.HUGEPAGE));
        assertEquals(Errno.OK, p.touch(thp, huge, true));
        CpuMmu cpu = k.mmu().attach(new SimCpu(0));
        cpu.switchMm(p.mm());
        long pa = cpu.translatePa(thp + 8, AccessKind.READ, Privilege.USER);
        assertTrue(!Translation.isFault(pa) && (pa & (huge - 1)) == 8, "a 2 MiB page: 0x" + Long.toHexString(pa));
        long misses = cpu.misses();
        assertEquals(pa + 0x1f_f000, cpu.translatePa(thp + 0x1f_f008, AccessKind.READ, Privilege.USER));
        assertEquals(misses, cpu.misses(), "the block entry hit");
        cpu.post(new FlushRequest(FlushRequest.Kind.ALL, FlushRequest.ANY_ASID, 0, 0));
        assertEquals(pa, cpu.translatePa(thp + 8, AccessKind.READ, Privilege.USER));
        assertEquals(misses + 1, cpu.misses(), "no hit while the flush waits");
        cpu.leave();
    }
}
