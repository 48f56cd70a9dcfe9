package ptlab.phys;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** {@code fail_page_alloc}: injected failures are typed, targeted, reproducible and leave no trace. */
class FaultInjectionTest {
    @RegisterExtension
    final BuddyCheckExtension checked = new BuddyCheckExtension();

    private final List<long[]> live = new ArrayList<>();

    private AllocResult alloc(BuddyAllocator a, int order, String site) {
        AllocResult r = a.allocate(order, Gfp.KERNEL, site);
        if (r.ok()) {
            live.add(new long[] {r.pfnOrThrow(), order});
        }
        return r;
    }

    private void freeAll(BuddyAllocator a) {
        for (long[] b : live) {
            a.free(b[0], (int) b[1]);
        }
        live.clear();
    }

    @Test
    void failNthFailsExactlyTheNthAllocationOnceAndChangesNothing() {
        BuddyAllocator a = checked.allocator(4);
        alloc(a, 0, "before");
        a.faultInjector().failNth(3);
        assertThat(alloc(a, 0, "s").ok()).isTrue();
        assertThat(alloc(a, 2, "s").ok()).isTrue();
        BuddyAllocatorTest.Snapshot before = BuddyAllocatorTest.Snapshot.of(a);
        assertThat(alloc(a, 1, "third")).isEqualTo(new AllocResult.Failed("third", 1, true));
        assertThat(BuddyAllocatorTest.Snapshot.of(a)).isEqualTo(before);
        for (int i = 0; i < 20; i++) {
            assertThat(alloc(a, i % 4, "after").ok()).isTrue();
        }
        assertThat(a.faultInjector().injectedFailures()).isEqualTo(1);
        assertThat(a.faultInjector().allocationsSeen()).isEqualTo(23);
        freeAll(a);
    }

    @Test
    void failNthCountsFromTheMomentItIsSet() {
        BuddyAllocator a = checked.allocator(4);
        a.faultInjector().failNth(1);
        assertThat(alloc(a, 0, "x")).isEqualTo(new AllocResult.Failed("x", 0, true));
        a.faultInjector().failNth(2);
        assertThat(alloc(a, 0, "x").ok()).isTrue();
        assertThat(alloc(a, 0, "x").ok()).isFalse();
        assertThat(alloc(a, 0, "x").ok()).isTrue();
        freeAll(a);
    }

    @Test
    void failSiteFailsEveryAllocationAtThatSiteOnly() {
        BuddyAllocator a = checked.allocator(4);
        a.faultInjector().failSite("pte_alloc_one");
        for (int i = 0; i < 10; i++) {
            AllocResult r = alloc(a, 0, "pte_alloc_one");
            assertThat(r).isInstanceOf(AllocResult.Failed.class);
            assertThat(((AllocResult.Failed) r).injected()).isTrue();
            assertThat(r.toString()).isEqualTo("ENOMEM at pte_alloc_one (order 0, injected)");
            assertThat(alloc(a, 0, "pmd_alloc_one").ok()).isTrue();
        }
        assertThat(a.faultInjector().injectedFailures()).isEqualTo(10);
        assertThat(a.allocatedFrames()).isEqualTo(10);
        a.faultInjector().reset();
        assertThat(alloc(a, 0, "pte_alloc_one").ok()).isTrue();
        freeAll(a);
    }

    @Test
    void failRandomlyIsReproducibleForOneSeed() {
        List<Boolean> first = randomPattern(0xC0FFEEL);
        List<Boolean> second = randomPattern(0xC0FFEEL);
        List<Boolean> other = randomPattern(0xBEEFL);
        assertThat(first).isEqualTo(second).isNotEqualTo(other);
        long failures = first.stream().filter(ok -> !ok).count();
        assertThat(failures).isBetween(1L, 399L);
    }

    private List<Boolean> randomPattern(long seed) {
        BuddyAllocator a = checked.allocator(4);
        a.faultInjector().failRandomly(0.25, seed);
        List<Boolean> pattern = new ArrayList<>();
        for (int i = 0; i < 400; i++) {
            List<Long> before = a.freeState();
            long allocated = a.allocatedFrames();
            AllocResult r = alloc(a, i % 3, "rand");
            pattern.add(r.ok());
            if (!r.ok()) {
                assertThat(((AllocResult.Failed) r).injected()).isTrue();
                assertThat(a.freeState()).isEqualTo(before);
                assertThat(a.allocatedFrames()).isEqualTo(allocated);
            }
            if (live.size() > 20) {
                long[] b = live.remove(0);
                a.free(b[0], (int) b[1]);
            }
        }
        freeAll(a);
        return pattern;
    }

    @Test
    void badRulesAreRefused() {
        FaultInjector f = checked.allocator(1).faultInjector();
        assertThatThrownBy(() -> f.failNth(0)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> f.failRandomly(1.5, 1)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> f.failSite(null)).isInstanceOf(NullPointerException.class);
    }
}
