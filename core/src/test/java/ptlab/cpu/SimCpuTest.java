package ptlab.cpu;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

/** The per-thread CPU context and the violation log. */
class SimCpuTest {
    @Test
    void runAsBindsTheCpuAndRestoresThePreviousBinding() {
        SimCpu outer = SimCpu.current();
        SimCpu cpu = new SimCpu(7);
        cpu.runAs(() -> {
            assertThat(SimCpu.current()).isSameAs(cpu);
            assertThat(SimCpu.current().id()).isEqualTo(7);
            assertThat(cpu).hasToString("cpu7");
        });
        assertThat(SimCpu.current()).isSameAs(outer);
        assertThat(outer.id()).isEqualTo(-1);
        assertThat(outer.toString()).startsWith("cpu(");
        assertThatThrownBy(() -> cpu.runAs(() -> {
            throw new IllegalStateException("boom");
        })).hasMessage("boom");
        assertThat(SimCpu.current()).isSameAs(outer);
    }

    @Test
    void preemptionRcuAndStopMachineEachMakeTheCpuAtomic() {
        SimCpu cpu = new SimCpu(0);
        assertThat(cpu.inAtomic()).isFalse();
        assertThat(cpu.atomicReason()).isEmpty();
        cpu.preemptDisable();
        cpu.rcuEnter();
        cpu.rcuEnter();
        cpu.setInStopMachine(true);
        assertThat(cpu.inAtomic()).isTrue();
        assertThat(cpu.rcuNesting()).isEqualTo(2);
        assertThat(cpu.atomicReason()).isEqualTo("preempt_count=1 rcu_read_lock depth 2 inside stop_machine");
        cpu.preemptEnable();
        cpu.rcuExit();
        cpu.rcuExit();
        assertThat(cpu.inAtomic()).isTrue();
        cpu.setInStopMachine(false);
        assertThat(cpu.inAtomic()).isFalse();
    }

    @Test
    void unbalancedEnableAndExitAreRefused() {
        SimCpu cpu = new SimCpu(2);
        assertThatThrownBy(cpu::preemptEnable).isInstanceOf(IllegalStateException.class)
                .hasMessage("preempt_enable without preempt_disable on cpu 2");
        assertThatThrownBy(cpu::rcuExit).isInstanceOf(IllegalStateException.class)
                .hasMessage("rcu_read_unlock without rcu_read_lock on cpu 2");
    }

    @Test
    void slotsForUpperLayersAreKeptPerCpu() {
        SimCpu cpu = new SimCpu(1);
        Object tlb = new Object();
        cpu.setMmuState(tlb);
        cpu.setCurrentMm("mm1");
        assertThat(cpu.mmuState()).isSameAs(tlb);
        assertThat(cpu.currentMm()).isEqualTo("mm1");
        assertThat(new SimCpu(1).mmuState()).isNull();
    }

    @Test
    void theLogRecordsCopiesAndClearsAndThrowsInStrictMode() {
        ViolationLog log = new ViolationLog(false);
        log.record("ctor-balance", "pfn 0x1");
        var snap = log.snapshot();
        log.record(new Violation("might-sleep", "x"));
        assertThat(snap).hasSize(1);
        assertThat(log.size()).isEqualTo(2);
        assertThat(log.snapshot().get(1)).hasToString("might-sleep: x");
        log.clear();
        assertThat(log.size()).isZero();
        log.setStrict(true);
        assertThatThrownBy(() -> log.record("use-after-free", "y")).isInstanceOf(ViolationException.class)
                .isInstanceOf(ptlab.PtlabException.class)
                .hasMessage("use-after-free: y");
        assertThat(log.size()).as("recorded even when it throws").isEqualTo(1);
    }

    @Test
    void lockClassesAreRankedInTheDocumentedOrder() {
        LockClass[] order = {LockClass.MMAP_LOCK, LockClass.SPLIT_MUTEX, LockClass.PGD_LIST, LockClass.PAGE_TABLE_LOCK,
            LockClass.PMD_PTL, LockClass.PTE_PTL, LockClass.ZONE};
        for (int i = 1; i < order.length; i++) {
            assertThat(order[i].rank()).isGreaterThan(order[i - 1].rank());
        }
        assertThat(LockClass.MMAP_LOCK.sleeping()).isTrue();
        assertThat(LockClass.PTE_PTL.sleeping()).isFalse();
    }
}
