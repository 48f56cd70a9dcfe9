package ptlab.rcu;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import ptlab.check.CpuStateCheck;
import ptlab.cpu.SimCpu;
import ptlab.cpu.ViolationLog;

/**
 * A CPU thread that dies inside RCU read sections must not stall later grace periods
 * ({@code exit_rcu}), and a test that leaves its own CPU in a section fails and is repaired.
 */
class RcuTaskExitTest {
    @Test
    void aThreadDyingInsideSectionsIsClosedByExitTask() throws Exception {
        Rcu rcu = new Rcu(new ViolationLog(false));
        AtomicReference<String> left = new AtomicReference<>();
        SimCpu cpu = new SimCpu(41);
        Thread t = new Thread(() -> {
            cpu.bindCurrentThread();
            try {
                RcuReaders.readLock();
                RcuReaders.readLock();
                cpu.preemptDisable();
                throw new IllegalStateException("oops inside the section");
            } catch (IllegalStateException e) {
                // the task dies
            } finally {
                left.set(RcuReaders.exitTask());
            }
        });
        t.start();
        t.join();
        assertThat(left.get()).contains("rcu_read_lock depth 2").contains("preempt_count=1");
        assertThat(cpu.rcuNesting()).isZero();
        assertThat(cpu.preemptCount()).isZero();
        long before = rcu.gracePeriods();
        rcu.synchronizeRcu(); // would wait for cpu 41 (and report a stall) without exitTask
        assertThat(rcu.gracePeriods()).isGreaterThan(before);
    }

    @Test
    void aTestLeavingItsCpuInASectionFailsAndIsReset() {
        RcuReaders.readLock();
        RcuReaders.readLock();
        RcuReaders.readLock();
        assertThatThrownBy(() -> CpuStateCheck.assertCleanAndReset("leaky test"))
                .isInstanceOf(AssertionError.class)
                .hasMessageContaining("rcu_read_lock depth 3");
        assertThat(RcuReaders.inReadSection()).isFalse();
        CpuStateCheck.assertCleanAndReset("next test"); // clean now
    }

    @Test
    void aCleanCpuHasNothingToExit() {
        assertThat(RcuReaders.exitTask()).isNull();
    }
}
