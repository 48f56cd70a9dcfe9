package ptlab.phys;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import ptlab.cpu.SimCpu;

/**
 * The per-CPU caches of order-0 frames ({@code struct per_cpu_pages}): frames freed on one CPU
 * wait in its cache, count as free, never merge, and come back to the zone in batches, on a
 * drain, or when another CPU would otherwise run out.
 */
class PerCpuPagesTest {
    @RegisterExtension
    final BuddyCheckExtension checked = new BuddyCheckExtension();

    private static List<Long> allocate(BuddyAllocator a, int n) {
        List<Long> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            out.add(a.allocate(0, Gfp.KERNEL, "test").pfnOrThrow());
        }
        return out;
    }

    @Test
    void aFrameFreedOnAnotherCpuWaitsInThatCpusCacheAsAFreeFrame() {
        BuddyAllocator a = checked.allocator(2);
        SimCpu cpu0 = new SimCpu(0);
        SimCpu cpu1 = new SimCpu(1);
        long[] pfn = new long[1];
        cpu0.runAs(() -> pfn[0] = a.allocate(0, Gfp.KERNEL, "test").pfnOrThrow());
        assertThat(a.allocatedFrames()).isEqualTo(1);
        cpu1.runAs(() -> a.free(pfn[0], 0));
        assertThat(a.allocatedFrames()).isZero();
        assertThat(a.isFree(pfn[0])).as("a cached frame is free").isTrue();
        assertThat(a.memory().isAllocated(pfn[0])).isFalse();
        // cpu1 hands it out again first (the hottest frame), without touching the zone.
        cpu1.runAs(() -> assertThat(a.allocate(0, Gfp.KERNEL, "test").pfnOrThrow()).isEqualTo(pfn[0]));
        cpu1.runAs(() -> a.free(pfn[0], 0));
        assertThat(a.freeState()).as("a drain merges everything back").isEqualTo(BuddyInvariants.initialFreeState());
    }

    @Test
    void aCacheOverItsHighMarkGivesABatchBackAndTheBuddiesMerge() {
        BuddyAllocator a = checked.allocator(2);
        List<Long> pfns = allocate(a, PerCpuPages.highFor(a.memory().frames()) + 1);
        for (long p : pfns) {
            a.free(p, 0);
        }
        // The free past HIGH gave the coldest BATCH back to the zone (where they merged with
        // their free buddies); the rest wait in the cache. All of them are free.
        assertThat(a.allocatedFrames()).isZero();
        for (long p : pfns) {
            assertThat(a.isFree(p)).isTrue();
        }
        assertThat(a.freeState()).isEqualTo(BuddyInvariants.initialFreeState());
    }

    /**
     * freeBulk (an mmu_gather's batched free) leaves the allocator exactly as the same frees
     * one by one: past the high mark too, and the next allocations get the same frames.
     */
    @Test
    void aBulkFreeIsTheSameAsFreesOneByOne() {
        BuddyAllocator one = checked.allocator(2);
        BuddyAllocator bulk = checked.allocator(2);
        int n = PerCpuPages.highFor(one.memory().frames()) + 100;
        List<Long> a = allocate(one, n);
        List<Long> b = allocate(bulk, n);
        assertThat(b).isEqualTo(a);
        long[] batch = new long[n];
        for (int i = 0; i < n; i++) {
            one.free(a.get(i), 0);
            batch[i] = b.get(i);
        }
        bulk.freeBulk(batch, n);
        assertThat(bulk.allocatedFrames()).isZero();
        assertThat(bulk.frees()).isEqualTo(one.frees());
        assertThat(allocate(bulk, 300)).isEqualTo(allocate(one, 300));
        for (BuddyAllocator x : List.of(one, bulk)) {
            x.drainAll();
        }
        assertThat(bulk.freeState()).isEqualTo(one.freeState());
    }

    /** A frame that is not an allocated order-0 block stops a bulk free: the frames before it are freed, the rest untouched. */
    @Test
    void aBadFrameInABulkFreeThrowsAfterFreeingTheOnesBeforeIt() {
        BuddyAllocator a = checked.allocator(1);
        List<Long> pfns = allocate(a, 3);
        a.free(pfns.get(1), 0);
        long[] batch = {pfns.get(0), pfns.get(1), pfns.get(2)};
        assertThatThrownBy(() -> a.freeBulk(batch, 3)).isInstanceOf(InvalidFrameException.class);
        assertThat(a.isFree(pfns.get(0))).isTrue();
        assertThat(a.memory().isAllocated(pfns.get(2))).isTrue();
        a.free(pfns.get(2), 0);
        assertThat(a.allocatedFrames()).isZero();
    }

    /** The kernel drains every CPU's cache before failing an allocation (drain_all_pages). */
    @Test
    void framesCachedOnOneCpuAreDrainedWhenAnotherWouldRunOut() {
        BuddyAllocator a = checked.allocator(1); // 1024 frames
        SimCpu cpu0 = new SimCpu(0);
        SimCpu cpu1 = new SimCpu(1);
        cpu0.runAs(() -> {
            for (long p : allocate(a, 1024)) {
                a.free(p, 0); // up to HIGH of them stay in cpu0's cache
            }
        });
        assertThat(a.allocatedFrames()).isZero();
        List<Long> got = new ArrayList<>();
        cpu1.runAs(() -> got.addAll(allocate(a, 1024)));
        assertThat(got).doesNotHaveDuplicates().hasSize(1024);
        assertThat(a.allocate(0, Gfp.KERNEL, "test").ok()).as("now really out").isFalse();
        cpu0.runAs(() -> got.forEach(p -> a.free(p, 0)));
        assertThat(a.freeState()).isEqualTo(BuddyInvariants.initialFreeState());
    }

    @Test
    void aDoubleFreeIntoACacheIsRefusedAndChangesNothing() {
        BuddyAllocator a = checked.allocator(1);
        long p = a.allocate(0, Gfp.KERNEL, "test").pfnOrThrow();
        a.free(p, 0);
        long frees = a.frees();
        assertThatThrownBy(() -> a.free(p, 0)).isInstanceOf(InvalidFrameException.class).hasMessageContaining("double free");
        long big = a.allocate(1, Gfp.KERNEL, "test").pfnOrThrow();
        assertThatThrownBy(() -> a.free(big, 0)).isInstanceOf(InvalidFrameException.class)
                .hasMessageContaining("allocated with order 1");
        assertThat(a.frees()).isEqualTo(frees);
        assertThat(a.allocatedFrames()).isEqualTo(2);
        a.free(big, 1);
        assertThat(a.freeState()).isEqualTo(BuddyInvariants.initialFreeState());
    }

    /** Two CPUs allocating and freeing through their caches and the shared zone never get the same frame. */
    @Test
    void concurrentCpusNeverShareAFrame() throws Exception {
        BuddyAllocator a = checked.allocator(8);
        int rounds = 20_000;
        java.util.concurrent.atomic.AtomicReference<Throwable> failure = new java.util.concurrent.atomic.AtomicReference<>();
        Thread[] ts = new Thread[2];
        for (int t = 0; t < 2; t++) {
            SimCpu cpu = new SimCpu(t);
            ts[t] = new Thread(() -> cpu.runAs(() -> {
                try {
                    List<Long> held = new ArrayList<>();
                    for (int r = 0; r < rounds; r++) {
                        long p = a.allocate(0, Gfp.KERNEL, "test").pfnOrThrow();
                        // A second reference: a frame handed to both CPUs at once would reach 3.
                        if (a.memory().getPage(p) != 2) {
                            throw new AssertionError("pfn 0x" + Long.toHexString(p) + " handed out twice");
                        }
                        held.add(p);
                        if (held.size() == 200 || r == rounds - 1) {
                            for (long q : held) {
                                if (a.memory().putPage(q) != 1) {
                                    throw new AssertionError("pfn 0x" + Long.toHexString(q) + " shared");
                                }
                                a.free(q, 0);
                            }
                            held.clear();
                        }
                    }
                } catch (Throwable e) {
                    failure.compareAndSet(null, e);
                }
            }));
            ts[t].start();
        }
        for (Thread t : ts) {
            t.join();
        }
        assertThat(failure.get()).isNull();
        assertThat(a.allocatedFrames()).isZero();
        assertThat(a.allocations()).isEqualTo(2L * rounds);
        assertThat(a.freeState()).isEqualTo(BuddyInvariants.initialFreeState());
    }

    /**
     * allocateSmall (a fault's run of pages) hands out what the same number of allocate calls
     * would: the same frames in the same order across cache refills and a zone that runs dry,
     * and with the injector armed it fails the same allocation.
     */
    @Test
    void allocateSmallHandsOutWhatAllocateOneByOneWould() {
        int frames = 1 << BuddyAllocator.MAX_ORDER;
        int n = 3 * PerCpuPages.BATCH + 5; // several refills
        BuddyAllocator bulk = checked.allocator(1);
        BuddyAllocator single = checked.allocator(1);
        long[] first = new long[n];
        long[] rest = new long[frames - n + 1];
        assertThat(bulk.allocateSmall(Gfp.HIGHUSER, "test", first, n)).isEqualTo(n);
        // Then RAM runs out: the run stops where allocate would fail.
        assertThat(bulk.allocateSmall(Gfp.HIGHUSER, "test", rest, rest.length)).isEqualTo(frames - n);
        List<Long> byBulk = new ArrayList<>();
        for (long p : first) {
            byBulk.add(p);
        }
        for (int i = 0; i < frames - n; i++) {
            byBulk.add(rest[i]);
        }
        List<Long> bySingle = allocate(single, frames);
        assertThat(single.allocate(0, Gfp.HIGHUSER, "test")).isInstanceOf(AllocResult.Failed.class);
        assertThat(byBulk).isEqualTo(bySingle);
        assertThat(bulk.allocations()).isEqualTo(single.allocations());
        for (int i = 0; i < frames; i++) {
            bulk.free(byBulk.get(i), 0);
            single.free(bySingle.get(i), 0);
        }

        // The injector fails the fifth allocation of the run: four frames, as four allocate calls.
        BuddyAllocator injected = checked.allocator(1);
        injected.faultInjector().failNth(5);
        long[] some = new long[10];
        assertThat(injected.allocateSmall(Gfp.HIGHUSER, "test", some, 10)).isEqualTo(4);
        assertThat(injected.faultInjector().injectedFailures()).isEqualTo(1);
        for (int i = 0; i < 4; i++) {
            injected.free(some[i], 0);
        }
    }
}
