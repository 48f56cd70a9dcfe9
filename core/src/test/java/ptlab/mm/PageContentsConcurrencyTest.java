package ptlab.mm;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.HashMap;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import ptlab.check.CheckedKernels;
import ptlab.cpu.SimCpu;
import ptlab.mmu.CpuMmu;
import ptlab.pgtable.KernelConfig;

/**
 * {@link PageContentsTest} with the stores racing the kernel: two vCPU threads store to the
 * words of one process without a pause (each its own words, interleaved in every page, so
 * both write every page) while the main thread forks children that exit soon after (the
 * parent's next store to a THP the child shares splits it, and a page the child shares is
 * copied), collapses 2 MiB ranges (the copy runs after the PMD is cleared and flushed, so a
 * store must either land before it or fault and wait; for shared memory, collapse_file zaps
 * every mapping first) and flips huge-page advice. After the
 * threads stop, every word holds its thread's last store and every other word of a mapped
 * page zero: a store lost in a copy, or one made to a page after it was copied, shows.
 */
class PageContentsConcurrencyTest {
    @RegisterExtension
    final CheckedKernels checked = new CheckedKernels();

    private static final long BASE = 0x10_0000_0000L;
    private static final long LEN = 8L << 20;
    /** A shared anonymous (shmem) region: collapse_file zaps every mapping, copies, then maps the huge folio. */
    private static final long SHARED = 0x20_0000_0000L;
    private static final long SHARED_LEN = 4L << 20;
    private static final long HUGE = 2L << 20;
    private static final long SEED = Long.getLong("ptlab.contents.seed", 0xc0ffeeL);

    @Test
    void storesRacingForksSplitsAndCollapsesAreKept() throws Exception {
        Kernel k = checked.kernel(KernelConfig.defaults().withRam(64L << 20));
        long page = k.geo.pageSize();
        PageContentsTest.GuestRam ram = new PageContentsTest.GuestRam(64L << 20, k.geo.pageShift());
        k.setPageContents(ram);
        Process p = k.newProcess("guest");
        assertThat(p.mmap(BASE, LEN, 3, false)).isEqualTo(Errno.OK);
        assertThat(p.madvise(BASE, LEN / 2, Advice.HUGEPAGE)).isEqualTo(Errno.OK);
        assertThat(p.mmap(SHARED, SHARED_LEN, 3, true)).isEqualTo(Errno.OK);

        AtomicBoolean stop = new AtomicBoolean();
        AtomicReference<Throwable> failed = new AtomicReference<>();
        java.util.List<Map<Long, Long>> models = java.util.List.of(new HashMap<>(), new HashMap<>()); // each thread's own, read after the join
        long[] stores = new long[2];
        Thread[] vcpus = new Thread[2];
        for (int n = 0; n < 2; n++) {
            int id = n;
            vcpus[n] = new Thread(() -> {
                new SimCpu(id).bindCurrentThread();
                CpuMmu cpu = k.mmu().attach(SimCpu.current());
                SplittableRandom r = new SplittableRandom(SEED + id);
                try {
                    long value = (long) id << 48;
                    while (!stop.get()) {
                        boolean shared = r.nextInt(4) == 0;
                        long va = (shared ? SHARED + r.nextLong(SHARED_LEN / 16) * 16 : BASE + r.nextLong(LEN / 16) * 16)
                                | (8L * id); // thread id owns word id of each 16 bytes
                        value++;
                        assertThat(PageContentsTest.access(cpu, p, va, true, value, ram, page, "cpu" + id)).isEqualTo(value);
                        models.get(id).put(va, value);
                        stores[id]++;
                    }
                } catch (Throwable t) {
                    failed.compareAndSet(null, t);
                } finally {
                    cpu.leave();
                }
            }, "vcpu" + n);
            vcpus[n].start();
        }
        SplittableRandom r = new SplittableRandom(SEED);
        int forks = 0;
        int collapses = 0;
        try {
            Process child = null;
            for (int op = 0; op < 400 && failed.get() == null; op++) {
                int what = r.nextInt(10);
                if (what < 4) {
                    if (child != null) {
                        child.exit();
                    }
                    child = p.fork("child" + forks++);
                } else if (what < 8) {
                    long at = r.nextInt(3) == 0 ? SHARED + r.nextLong(SHARED_LEN / HUGE) * HUGE : BASE + r.nextLong(LEN / HUGE) * HUGE;
                    if (p.madvise(at, HUGE, Advice.COLLAPSE) == Errno.OK) {
                        collapses++;
                    }
                } else {
                    long at = BASE + r.nextLong(LEN / HUGE) * HUGE;
                    assertThat(p.madvise(at, HUGE, r.nextBoolean() ? Advice.HUGEPAGE : Advice.NOHUGEPAGE)).isEqualTo(Errno.OK);
                }
                Thread.sleep(0, 200_000);
            }
            if (child != null) {
                child.exit();
            }
        } finally {
            stop.set(true);
            for (Thread t : vcpus) {
                t.join();
            }
        }
        if (failed.get() != null) {
            throw new AssertionError("a vCPU failed", failed.get());
        }
        System.out.printf("PageContentsConcurrencyTest: %d and %d stores (a quarter shared) racing %d forks and %d collapses; hook calls %s%n",
                stores[0], stores[1], forks, collapses, new java.util.TreeMap<>(ram.sites));
        // Every stored word reads back through a CPU (a shared page the parent no longer maps is
        // faulted in from the page cache)...
        new SimCpu(2).runAs(() -> {
            CpuMmu cpu = k.mmu().attach(SimCpu.current());
            for (Map<Long, Long> m : models) {
                for (Map.Entry<Long, Long> e : m.entrySet()) {
                    assertThat(PageContentsTest.access(cpu, p, e.getKey(), false, 0, ram, page, "final")).as("word 0x%x", e.getKey()).isEqualTo(e.getValue());
                }
            }
            cpu.leave();
        });
        // ...and every other word of a mapped page is zero (the threads' words are disjoint).
        Map<Long, Long> all = new HashMap<>(models.get(0));
        all.putAll(models.get(1));
        PageContentsTest.checkMappedWords(k, p, ram, BASE, LEN, all, true, "after the race");
        PageContentsTest.checkMappedWords(k, p, ram, SHARED, SHARED_LEN, all, false, "after the race");
        assertThat(forks).isPositive();
        assertThat(collapses).as("collapses that raced stores").isPositive();
        p.exit();
    }
}
