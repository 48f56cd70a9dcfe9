package ptlab.cpu;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** {@code spinlock_t}: atomic context while held, lockdep-style order checks, nesting. */
class SpinLockTest {
    private final SpinLock pmd = new SpinLock("pmd_ptl", LockClass.PMD_PTL);
    private final SpinLock pteA = new SpinLock("pte_ptl A", LockClass.PTE_PTL);
    private final SpinLock pteB = new SpinLock("pte_ptl B", LockClass.PTE_PTL);

    @Test
    void holdingASpinlockMakesTheCpuAtomic() {
        new SimCpu(0).runAs(() -> {
            SimCpu cpu = SimCpu.current();
            assertThat(cpu.inAtomic()).isFalse();
            pmd.lock();
            assertThat(cpu.inAtomic()).isTrue();
            assertThat(cpu.preemptCount()).isEqualTo(1);
            assertThat(cpu.atomicReason()).isEqualTo("preempt_count=1 holding [pmd_ptl]");
            assertThat(pmd.isLocked()).isTrue();
            assertThat(pmd.heldByCurrentCpu()).isTrue();
            pmd.assertHeld();
            pteA.lock();
            assertThat(cpu.preemptCount()).isEqualTo(2);
            assertThat(cpu.heldLocks()).isEqualTo("[pmd_ptl, pte_ptl A]");
            pteA.unlock();
            pmd.unlock();
            assertThat(cpu.inAtomic()).isFalse();
            assertThat(cpu.locksHeld()).isZero();
            assertThat(pmd.isLocked()).isFalse();
            assertThatThrownBy(pmd::assertHeld).isInstanceOf(LockProtocolError.class)
                    .hasMessage("pmd_ptl is not held by cpu0");
        });
    }

    @Test
    void takingAPmdLockInsideAPteLockBreaksTheOrderAndChangesNothing() {
        new SimCpu(1).runAs(() -> {
            SimCpu cpu = SimCpu.current();
            pteA.lock();
            assertThatThrownBy(pmd::lock).isInstanceOf(LockProtocolError.class)
                    .hasMessage("taking pmd_ptl (PMD_PTL/0) while holding pte_ptl A (PTE_PTL/0) on cpu1");
            assertThat(pmd.isLocked()).isFalse();
            assertThat(cpu.preemptCount()).isEqualTo(1);
            assertThat(cpu.heldLocks()).isEqualTo("[pte_ptl A]");
            pteA.unlock();
        });
    }

    @Test
    void recursionIsRefused() {
        new SimCpu(2).runAs(() -> {
            pmd.lock();
            assertThatThrownBy(pmd::lock).isInstanceOf(LockProtocolError.class)
                    .hasMessage("recursive acquisition of pmd_ptl on cpu2");
            assertThatThrownBy(pmd::tryLock).isInstanceOf(LockProtocolError.class)
                    .hasMessage("trylock of pmd_ptl already held by cpu2");
            assertThat(SimCpu.current().preemptCount()).isEqualTo(1);
            pmd.unlock();
        });
    }

    @Test
    void twoLocksOfOneClassNestOnlyWithAHigherSubclass() {
        new SimCpu(3).runAs(() -> {
            pteA.lock();
            assertThatThrownBy(pteB::lock).isInstanceOf(LockProtocolError.class)
                    .hasMessage("taking pte_ptl B (PTE_PTL/0) while holding pte_ptl A (PTE_PTL/0) on cpu3");
            pteB.lockNested(1);
            assertThat(SimCpu.current().heldLocks()).isEqualTo("[pte_ptl A, pte_ptl B]");
            pteB.unlock();
            pteA.unlock();

            pteA.lockNested(1);
            assertThatThrownBy(() -> pteB.lockNested(1)).isInstanceOf(LockProtocolError.class);
            pteA.unlock();
        });
    }

    @Test
    void releasingALockNotHeldIsAProtocolError() {
        new SimCpu(4).runAs(() -> {
            assertThatThrownBy(pmd::unlock).isInstanceOf(LockProtocolError.class)
                    .hasMessage("releasing pmd_ptl which this cpu does not hold");
            assertThat(SimCpu.current().preemptCount()).isZero();
        });
    }

    @Test
    void tryLockFailsWhileAnotherCpuHoldsTheLockAndSucceedsAfter() {
        new SimCpu(0).runAs(() -> {
            pmd.lock();
            try {
                assertThat(tryOnAnotherCpu()).isFalse();
            } finally {
                pmd.unlock();
            }
        });
        assertThat(tryOnAnotherCpu()).isTrue();
        assertThat(pmd.isLocked()).isFalse();
    }

    /** Runs {@code pmd.tryLock()} on cpu1 in another thread, releasing at once if it succeeded. */
    private boolean tryOnAnotherCpu() {
        return CompletableFuture.supplyAsync(() -> {
            SimCpu cpu1 = new SimCpu(1);
            boolean[] got = new boolean[1];
            cpu1.runAs(() -> {
                got[0] = pmd.tryLock();
                assertThat(cpu1.preemptCount()).isEqualTo(got[0] ? 1 : 0);
                if (got[0]) {
                    pmd.unlock();
                }
            });
            return got[0];
        }).orTimeout(10, TimeUnit.SECONDS).join();
    }

    @Test
    void aSecondSimulatedCpuOnTheSameThreadCannotEnterAHeldLock() {
        SpinLock l = new SpinLock("l", LockClass.PAGE_TABLE_LOCK);
        SimCpu cpu0 = new SimCpu(0);
        SimCpu cpu1 = new SimCpu(1);
        cpu0.runAs(() -> {
            l.lock();
            cpu1.runAs(() -> {
                assertThatThrownBy(l::lock).isInstanceOf(LockProtocolError.class)
                        .hasMessage("taking l on cpu1 while another simulated cpu on the same thread holds it (self-deadlock)");
                assertThat(l.tryLock()).isFalse();
                assertThat(cpu1.preemptCount()).isZero();
                assertThat(cpu1.locksHeld()).isZero();
            });
            l.unlock();
        });
        assertThat(l.isLocked()).isFalse();
    }

    @Test
    void sleepingLockClassesCannotBeSpinlocks() {
        assertThatThrownBy(() -> new SpinLock("mmap", LockClass.MMAP_LOCK)).isInstanceOf(IllegalArgumentException.class);
    }
}
