package ptlab.phys;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import ptlab.PtlabException;
import ptlab.cpu.ViolationLog;

/** Examples of the allocator's contract: sizes, exhaustion, refcounts and bad input. */
class BuddyAllocatorTest {
    private static final long KIB = 1024;
    private static final long MIB = KIB * KIB;
    private static final long GIB = KIB * MIB;
    private static final long TIB = KIB * GIB;

    @RegisterExtension
    final BuddyCheckExtension checked = new BuddyCheckExtension();

    /* ---- shapes ---- */

    @ParameterizedTest(name = "order {0}")
    @ValueSource(ints = {0, 1, 3, 9, 10})
    void blocksAreAlignedToTheirOrderAndCounted(int order) {
        BuddyAllocator a = checked.allocator(8);
        List<Long> heads = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            long pfn = a.allocate(order, Gfp.KERNEL, "test").pfnOrThrow();
            assertThat(pfn & ((1L << order) - 1)).as("alignment of 0x%x", pfn).isZero();
            assertThat(a.memory().isAllocated(pfn)).isTrue();
            assertThat(a.memory().orderOf(pfn)).isEqualTo(order);
            assertThat(a.memory().refcount(pfn)).isEqualTo(1);
            heads.add(pfn);
        }
        assertThat(heads).doesNotHaveDuplicates();
        assertThat(a.allocatedFrames()).isEqualTo(5L << order);
        assertThat(a.freeFrames()).isEqualTo(a.memory().frames() - (5L << order));
        assertThat(a.allocations()).isEqualTo(5);
        for (long pfn : heads) {
            a.free(pfn, order);
        }
        assertThat(a.frees()).isEqualTo(5);
        assertThat(a.freeState()).isEqualTo(BuddyInvariants.initialFreeState());
    }

    @Test
    void theFirstOrderZeroAllocationSplitsOneMaxOrderBlockIntoOneBlockPerOrder() {
        BuddyAllocator a = checked.allocator(2);
        long pfn = a.allocate(0, Gfp.KERNEL, "test").pfnOrThrow();
        assertThat(pfn).isZero();
        List<Long> expected = new ArrayList<>();
        for (int k = 0; k < BuddyAllocator.MAX_ORDER; k++) {
            expected.add(1L);
            assertThat(a.freeList(k)).containsExactly(1L << k);
        }
        expected.add(0L);
        expected.add(1L << BuddyAllocator.MAX_ORDER);
        assertThat(a.freeState()).isEqualTo(expected);
        a.free(pfn, 0);
        assertThat(a.freeState()).isEqualTo(BuddyInvariants.initialFreeState());
    }

    @Test
    void aFreedMaxOrderBlockBelowALiveOneStaysOnTheListUntilTheTopIsFreed() {
        BuddyAllocator a = checked.allocator(4);
        long low = a.allocate(10, Gfp.KERNEL, "test").pfnOrThrow();
        long high = a.allocate(10, Gfp.KERNEL, "test").pfnOrThrow();
        a.free(low, 10);
        assertThat(a.freeList(10)).containsExactly(low);
        a.free(high, 10);
        assertThat(a.freeState()).isEqualTo(BuddyInvariants.initialFreeState());
    }

    /* ---- RAM sizes ---- */

    @Test
    void oneTebibyteOfRamCostsHostMemoryOnlyForWhatIsUsed() {
        BuddyAllocator a = checked.allocator(12, TIB);
        PhysicalMemory mem = a.memory();
        assertThat(mem.frames()).isEqualTo(TIB >>> 12);
        assertThat(mem.sectionsInUse()).isZero();

        // Queries anywhere, the top included, create no metadata.
        long top = mem.frames() - 1;
        assertThat(mem.isAllocated(top)).isFalse();
        assertThat(a.isFree(top)).isTrue();
        assertThat(mem.descOrNull(top)).isNull();
        assertThat(mem.refcount(top)).isZero();
        assertThat(mem.pfnOf(TIB - 4096)).isEqualTo(top);
        assertThatThrownBy(() -> a.free(top & -1024, 10)).isInstanceOf(InvalidFrameException.class);
        assertThat(mem.sectionsInUse()).isZero();

        // A few hundred MiB: 75 max-order blocks (300 MiB) plus some single frames.
        List<long[]> live = new ArrayList<>();
        for (int i = 0; i < 75; i++) {
            live.add(new long[] {a.allocate(10, Gfp.KERNEL, "big").pfnOrThrow(), 10});
        }
        for (int i = 0; i < 100; i++) {
            live.add(new long[] {a.allocate(0, Gfp.KERNEL, "small").pfnOrThrow(), 0});
        }
        assertThat(a.allocatedFrames() << 12).isEqualTo(300 * MIB + 100 * 4096);
        // 128 MiB of 4K frames per section: 301 MiB in use needs three.
        assertThat(mem.sectionsInUse()).isEqualTo(3);
        assertThat(mem.isAllocated(top)).isFalse();
        assertThat(mem.sectionsInUse()).isEqualTo(3);

        for (long[] b : live) {
            a.free(b[0], (int) b[1]);
        }
        assertThat(a.freeState()).isEqualTo(BuddyInvariants.initialFreeState());
        assertThat(a.allocatedFrames()).isZero();
    }

    @ParameterizedTest(name = "shift {0}")
    @ValueSource(ints = {12, 14, 16})
    void exhaustionIsATypedFailureAndFreeingEverythingMakesRoomAgain(int pageShift) {
        BuddyAllocator a = checked.allocator(pageShift, 2L << (pageShift + BuddyAllocator.MAX_ORDER));
        long frames = a.memory().frames();
        List<Long> got = new ArrayList<>();
        AllocResult r;
        while ((r = a.allocate(0, Gfp.KERNEL, "fill")).ok()) {
            got.add(r.pfnOrThrow());
        }
        assertThat(got).hasSize((int) frames).doesNotHaveDuplicates();
        assertThat(r).isEqualTo(new AllocResult.Failed("fill", 0, false));
        assertThat(r.toString()).isEqualTo("ENOMEM at fill (order 0)");
        assertThat(a.allocate(10, Gfp.KERNEL, "big")).isEqualTo(new AllocResult.Failed("big", 10, false));
        AllocResult failed = r;
        assertThatThrownBy(failed::pfnOrThrow).isInstanceOf(OutOfMemoryException.class)
                .hasMessage("out of memory: ENOMEM at fill (order 0)");
        assertThat(a.freeFrames()).isZero();

        for (long pfn : got) {
            a.free(pfn, 0);
        }
        assertThat(a.freeState()).isEqualTo(BuddyInvariants.initialFreeState());
        long a1 = a.allocate(10, Gfp.KERNEL, "again").pfnOrThrow();
        long a2 = a.allocate(10, Gfp.KERNEL, "again").pfnOrThrow();
        assertThat(a.allocate(0, Gfp.KERNEL, "again").ok()).isFalse();
        a.free(a1, 10);
        a.free(a2, 10);
    }

    /* ---- bad input ---- */

    @Test
    void freeOfMemoryNeverAllocatedIsRefusedWithoutTouchingState() {
        BuddyAllocator a = checked.allocator(4);
        long live = a.allocate(2, Gfp.KERNEL, "test").pfnOrThrow();
        Snapshot before = Snapshot.of(a);
        assertThatThrownBy(() -> a.free(3 << BuddyAllocator.MAX_ORDER, 0))
                .isInstanceOf(InvalidFrameException.class)
                .hasMessage("free of pfn 0xc00 which is not allocated (double free?)");
        assertThatThrownBy(() -> a.free(live + 8, 0))
                .isInstanceOf(InvalidFrameException.class)
                .hasMessageContaining("pfn 0x8 which is not allocated");
        assertThat(Snapshot.of(a)).isEqualTo(before);
        assertThat(a.memory().sectionsInUse()).isEqualTo(1);
        a.free(live, 2);
    }

    @Test
    void doubleFreeIsRefusedWithoutTouchingState() {
        BuddyAllocator a = checked.allocator(4);
        long keep = a.allocate(0, Gfp.KERNEL, "test").pfnOrThrow();
        long pfn = a.allocate(0, Gfp.KERNEL, "test").pfnOrThrow();
        a.free(pfn, 0);
        Snapshot before = Snapshot.of(a);
        assertThatThrownBy(() -> a.free(pfn, 0))
                .isInstanceOf(InvalidFrameException.class)
                .hasMessage("free of pfn 0x" + Long.toHexString(pfn) + " which is not allocated (double free?)");
        assertThat(Snapshot.of(a)).isEqualTo(before);
        a.free(keep, 0);
    }

    @Test
    void freeWithTheWrongOrderOrOfATailFrameIsRefusedWithoutTouchingState() {
        BuddyAllocator a = checked.allocator(4);
        long pfn = a.allocate(3, Gfp.KERNEL, "test").pfnOrThrow();
        Snapshot before = Snapshot.of(a);
        assertThatThrownBy(() -> a.free(pfn, 2))
                .isInstanceOf(InvalidFrameException.class)
                .hasMessage("free of pfn 0x" + Long.toHexString(pfn) + " with order 2 but it was allocated with order 3");
        assertThatThrownBy(() -> a.free(pfn + 1, 0)).isInstanceOf(InvalidFrameException.class);
        assertThat(Snapshot.of(a)).isEqualTo(before);
        assertThat(a.memory().isAllocated(pfn)).isTrue();
        a.free(pfn, 3);
    }

    @Test
    void freeOutsideRamIsRefused() {
        BuddyAllocator a = checked.allocator(1);
        assertThatThrownBy(() -> a.free(1024, 0)).isInstanceOf(InvalidFrameException.class)
                .hasMessage("pfn 0x400 is outside RAM (0x400 frames)");
        assertThatThrownBy(() -> a.free(-1, 0)).isInstanceOf(InvalidFrameException.class)
                .hasMessageContaining("outside RAM");
        assertThat(a.memory().sectionsInUse()).isZero();
    }

    @Test
    void pfnOfRefusesMisalignedAndOutOfRangeAddresses() {
        PhysicalMemory mem = checked.allocator(14, 4L << 24).memory();
        assertThat(mem.pfnOf(0x8000)).isEqualTo(2);
        assertThat(mem.paOf(2)).isEqualTo(0x8000);
        assertThatThrownBy(() -> mem.pfnOf(0x8001)).isInstanceOf(InvalidFrameException.class)
                .hasMessage("physical address 0x8001 is not aligned to the 16384-byte page");
        assertThatThrownBy(() -> mem.pfnOf(0x1000)).isInstanceOf(InvalidFrameException.class);
        assertThatThrownBy(() -> mem.pfnOf(4L << 24)).isInstanceOf(InvalidFrameException.class)
                .hasMessage("pfn 0x1000 is outside RAM (0x1000 frames)");
        assertThatThrownBy(() -> mem.pfnOf(-0x4000)).isInstanceOf(InvalidFrameException.class)
                .hasMessageContaining("outside RAM");
    }

    @Test
    void impossibleMemoryConfigurationsAreTypedUserErrors() {
        ViolationLog log = new ViolationLog(false);
        assertThatThrownBy(() -> new PhysicalMemory(13, 1L << 30, log))
                .isInstanceOf(MemoryConfigException.class).isInstanceOf(PtlabException.class)
                .hasMessage("page shift must be 12, 14 or 16: 13");
        assertThatThrownBy(() -> new PhysicalMemory(12, (4L << 20) + 4096, log))
                .isInstanceOf(MemoryConfigException.class)
                .hasMessage("RAM size 4198400 must be a positive multiple of 4194304 bytes (the largest buddy block)");
        assertThatThrownBy(() -> new PhysicalMemory(16, 4L << 20, log))
                .isInstanceOf(MemoryConfigException.class).hasMessageContaining("multiple of 67108864");
        assertThatThrownBy(() -> new PhysicalMemory(12, 0, log)).isInstanceOf(MemoryConfigException.class);
        assertThatThrownBy(() -> new PhysicalMemory(12, -(4L << 20), log)).isInstanceOf(MemoryConfigException.class);
        assertThat(new PhysicalMemory(16, 1L << 26, log).frames()).isEqualTo(1024);
    }

    @Test
    void anOrderOutsideTheBuddyRangeIsACallerBug() {
        BuddyAllocator a = checked.allocator(1);
        assertThatThrownBy(() -> a.allocate(11, Gfp.KERNEL, "test")).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("order 11 outside 0..10");
        assertThatThrownBy(() -> a.allocate(-1, Gfp.KERNEL, "test")).isInstanceOf(IllegalArgumentException.class);
    }

    /* ---- reference counts ---- */

    @Test
    void getAndPutPageCountAndAPutBelowZeroChangesNothing() {
        BuddyAllocator a = checked.allocator(1);
        PhysicalMemory mem = a.memory();
        long pfn = a.allocate(0, Gfp.KERNEL, "test").pfnOrThrow();
        assertThat(mem.getPage(pfn)).isEqualTo(2);
        assertThat(mem.putPage(pfn)).isEqualTo(1);
        assertThat(mem.putPage(pfn)).isZero();
        assertThatThrownBy(() -> mem.putPage(pfn)).isInstanceOf(InvalidFrameException.class)
                .hasMessage("put_page of pfn 0x0 whose refcount is 0");
        assertThat(mem.refcount(pfn)).isZero();
        a.free(pfn, 0);
    }

    @Test
    void refcountOpsOnMemoryWithoutMetadataAreTypedErrors() {
        PhysicalMemory mem = checked.allocator(12, 1L << 30).memory();
        long far = mem.frames() - 1;
        assertThatThrownBy(() -> mem.getPage(far)).isInstanceOf(InvalidFrameException.class)
                .hasMessage("get_page of pfn 0x3ffff which was never allocated");
        assertThatThrownBy(() -> mem.putPage(far)).isInstanceOf(InvalidFrameException.class);
        assertThatThrownBy(() -> mem.refcount(mem.frames())).isInstanceOf(InvalidFrameException.class);
        assertThat(mem.sectionsInUse()).isZero();
    }

    /** Everything a refused call must leave as it was. */
    record Snapshot(List<Long> freeState, List<List<Long>> lists, long allocated, long allocations, long frees) {
        static Snapshot of(BuddyAllocator a) {
            List<List<Long>> lists = new ArrayList<>();
            for (int k = 0; k <= BuddyAllocator.MAX_ORDER; k++) {
                lists.add(a.freeList(k));
            }
            return new Snapshot(a.freeState(), lists, a.allocatedFrames(), a.allocations(), a.frees());
        }
    }
}
