package ptlab.phys;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import ptlab.cpu.LockClass;
import ptlab.cpu.SimCpu;
import ptlab.cpu.SpinLock;
import ptlab.cpu.Violation;
import ptlab.cpu.ViolationException;

/**
 * {@code might_alloc()}: a sleeping allocation in atomic context is a {@code might-sleep}
 * violation, and on PREEMPT_RT so is any allocation inside {@code stop_machine}. Every test
 * runs on its own {@link SimCpu} so no atomic state leaks into other tests.
 */
class MightSleepTest {
    @RegisterExtension
    final BuddyCheckExtension checked = new BuddyCheckExtension();

    private final SpinLock ptl = new SpinLock("ptl@test", LockClass.PTE_PTL);

    /** Allocates and frees one frame with {@code gfp}; returns what the log recorded, then clears it. */
    private static List<Violation> allocIn(BuddyAllocator a, Gfp gfp) {
        AllocResult r = a.allocate(0, gfp, "pte_alloc_one");
        a.free(r.pfnOrThrow(), 0);
        List<Violation> v = a.memory().log().snapshot();
        a.memory().log().clear();
        return v;
    }

    @Test
    void gfpKernelUnderASpinlockIsAViolationNamingSiteCpuAndLock() {
        BuddyAllocator a = checked.allocator(1);
        new SimCpu(3).runAs(() -> {
            ptl.lock();
            try {
                List<Violation> v = allocIn(a, Gfp.KERNEL);
                assertThat(v).hasSize(1);
                assertThat(v.get(0).kind()).isEqualTo("might-sleep");
                assertThat(v.get(0).detail()).isEqualTo("pte_alloc_one: GFP_KERNEL allocation in atomic context on cpu3: "
                        + "preempt_count=1 holding [ptl@test]");
                assertThat(allocIn(a, Gfp.ATOMIC)).isEmpty();
                assertThat(allocIn(a, Gfp.NOWAIT)).isEmpty();
                assertThat(allocIn(a, Gfp.PGTABLE_USER)).extracting(Violation::kind).containsExactly("might-sleep");
            } finally {
                ptl.unlock();
            }
            assertThat(allocIn(a, Gfp.KERNEL)).isEmpty();
        });
    }

    @Test
    void gfpKernelInsideAnRcuReadSectionIsAViolation() {
        BuddyAllocator a = checked.allocator(1);
        new SimCpu(0).runAs(() -> {
            SimCpu cpu = SimCpu.current();
            cpu.rcuEnter();
            try {
                List<Violation> v = allocIn(a, Gfp.KERNEL);
                assertThat(v).extracting(Violation::kind).containsExactly("might-sleep");
                assertThat(v.get(0).detail()).endsWith("rcu_read_lock depth 1");
                assertThat(allocIn(a, Gfp.ATOMIC)).isEmpty();
            } finally {
                cpu.rcuExit();
            }
        });
    }

    @Test
    void gfpKernelInsideStopMachineIsAViolationButAtomicIsNotWithoutPreemptRt() {
        BuddyAllocator a = checked.allocator(1);
        new SimCpu(1).runAs(() -> {
            SimCpu.current().setInStopMachine(true);
            assertThat(allocIn(a, Gfp.KERNEL)).extracting(Violation::detail)
                    .containsExactly("pte_alloc_one: GFP_KERNEL allocation in atomic context on cpu1: inside stop_machine");
            assertThat(allocIn(a, Gfp.ATOMIC)).isEmpty();
        });
    }

    @Test
    void onPreemptRtEvenAtomicAllocationsInsideStopMachineAreViolations() {
        BuddyAllocator a = checked.allocator(1);
        a.setPreemptRt(true);
        assertThat(a.preemptRt()).isTrue();
        new SimCpu(2).runAs(() -> {
            assertThat(allocIn(a, Gfp.ATOMIC)).isEmpty();
            ptl.lock();
            try {
                // Outside stop_machine, RT changes nothing for an atomic allocation under a spinlock.
                assertThat(allocIn(a, Gfp.ATOMIC)).isEmpty();
            } finally {
                ptl.unlock();
            }
            SimCpu.current().setInStopMachine(true);
            assertThat(allocIn(a, Gfp.ATOMIC)).extracting(Violation::detail)
                    .containsExactly("pte_alloc_one: GFP_ATOMIC allocation inside stop_machine on PREEMPT_RT (cpu2)");
            assertThat(allocIn(a, Gfp.KERNEL)).hasSize(1);
        });
    }

    @Test
    void strictModeThrowsBeforeTheAllocatorIsTouched() {
        BuddyAllocator a = checked.allocator(1);
        a.memory().log().setStrict(true);
        new SimCpu(0).runAs(() -> {
            ptl.lock();
            try {
                assertThatThrownBy(() -> a.allocate(0, Gfp.KERNEL, "pmd_alloc_one"))
                        .isInstanceOf(ViolationException.class)
                        .hasMessageStartingWith("might-sleep: pmd_alloc_one: GFP_KERNEL allocation in atomic context")
                        .satisfies(e -> assertThat(((ViolationException) e).violation().kind()).isEqualTo("might-sleep"));
                assertThat(a.allocations()).isZero();
                assertThat(a.freeState()).isEqualTo(BuddyInvariants.initialFreeState());
                assertThat(a.allocate(0, Gfp.ATOMIC, "pmd_alloc_one").ok()).isTrue();
            } finally {
                ptl.unlock();
            }
        });
        a.memory().log().clear();
    }
}
