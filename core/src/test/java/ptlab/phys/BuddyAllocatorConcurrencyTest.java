package ptlab.phys;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import ptlab.cpu.SimCpu;

/**
 * Seeded stress: four simulated CPUs allocate and free random orders at once. Each keeps its
 * own live blocks; a shared per-frame owner table (the concurrent set of claimed frames) is
 * claimed by CAS after every allocation and released before every free, so two CPUs ever
 * holding the same frame is caught at the moment it happens. At the end everything is freed
 * and the allocator must be back in its initial state.
 */
class BuddyAllocatorConcurrencyTest {
    private static final int CPUS = 4;
    private static final int OPS_PER_CPU = 50_000;
    /** 32 max-order blocks of 4K pages: 128 MiB, small enough that CPUs contend and exhaust. */
    private static final long BLOCKS = 32;

    @RegisterExtension
    final BuddyCheckExtension checked = new BuddyCheckExtension();

    @Test
    void fourCpusAllocatingAndFreeingNeverShareAFrameAndRestoreTheInitialState() throws Exception {
        long seed = Long.getLong("ptlab.seed", 0xC0DE_CAFEL);
        System.out.printf("BuddyAllocatorConcurrencyTest: seed 0x%x%n", seed);
        BuddyAllocator a = checked.allocator(BLOCKS);
        int frames = (int) a.memory().frames();
        AtomicIntegerArray owner = new AtomicIntegerArray(frames);
        ConcurrentLinkedQueue<String> errors = new ConcurrentLinkedQueue<>();
        AtomicLong failures = new AtomicLong();
        CyclicBarrier start = new CyclicBarrier(CPUS);
        List<Thread> threads = new ArrayList<>();
        for (int c = 0; c < CPUS; c++) {
            int id = c + 1;
            SplittableRandom rnd = new SplittableRandom(seed + c);
            Thread t = new Thread(() -> new SimCpu(id).runAs(() -> {
                try {
                    start.await();
                    run(a, id, rnd, owner, errors, failures);
                } catch (Exception e) {
                    errors.add("cpu" + id + ": " + e);
                }
            }), "stress-cpu" + id);
            threads.add(t);
            t.start();
        }
        for (Thread t : threads) {
            t.join();
        }
        assertThat(errors).isEmpty();
        assertThat(a.allocations()).isEqualTo(a.frees());
        assertThat(a.allocations() + failures.get()).isEqualTo((long) CPUS * OPS_PER_CPU);
        assertThat(a.allocatedFrames()).isZero();
        assertThat(a.freeState()).isEqualTo(BuddyInvariants.initialFreeState());
        for (int i = 0; i < frames; i++) {
            assertThat(owner.get(i)).isZero();
        }
    }

    private static void run(BuddyAllocator a, int id, SplittableRandom rnd, AtomicIntegerArray owner,
            ConcurrentLinkedQueue<String> errors, AtomicLong failures) {
        List<long[]> live = new ArrayList<>();
        int ops = 0;
        while (ops < OPS_PER_CPU || !live.isEmpty()) {
            boolean alloc = ops < OPS_PER_CPU && (live.isEmpty() || rnd.nextInt(100) < 55);
            if (alloc) {
                ops++;
                int band = rnd.nextInt(20);
                int order = band < 14 ? rnd.nextInt(3) : band < 19 ? 3 + rnd.nextInt(4) : 7 + rnd.nextInt(4);
                AllocResult r = a.allocate(order, Gfp.KERNEL, "stress");
                if (!r.ok()) {
                    failures.incrementAndGet();
                    continue;
                }
                long pfn = r.pfnOrThrow();
                if ((pfn & ((1L << order) - 1)) != 0) {
                    errors.add("cpu" + id + " got misaligned block 0x" + Long.toHexString(pfn) + "/" + order);
                }
                for (long p = pfn; p < pfn + (1L << order); p++) {
                    int prev = owner.compareAndExchange((int) p, 0, id);
                    if (prev != 0) {
                        errors.add("cpu" + id + " got frame 0x" + Long.toHexString(p) + " (block 0x" + Long.toHexString(pfn)
                                + "/" + order + ") while cpu" + prev + " holds it");
                        return;
                    }
                }
                live.add(new long[] {pfn, order});
            } else {
                long[] b = live.remove(rnd.nextInt(live.size()));
                for (long p = b[0]; p < b[0] + (1L << b[1]); p++) {
                    if (owner.compareAndExchange((int) p, id, 0) != id) {
                        errors.add("cpu" + id + " lost frame 0x" + Long.toHexString(p));
                        return;
                    }
                }
                a.free(b[0], (int) b[1]);
            }
        }
    }
}
