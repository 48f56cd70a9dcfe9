package ptlab.kmap;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import ptlab.cpu.SimCpu;

/**
 * {@code stop_machine(fn, data, cpu_online_mask)} ({@code kernel/stop_machine.c}): every other
 * online CPU runs the stopper - it disables preemption, marks itself parked and waits; once
 * all are parked, the calling CPU runs {@code fn} in atomic context (preemption off, the
 * stop_machine flag set, so a sleeping or, on PREEMPT_RT, any allocation is a might-sleep
 * violation); then the others are released. {@link BbmTracker#checkResume} sees them resume.
 */
/*
 * Implementation notes. The secondaries are real threads (Cpus.start); the stopper is queued
 * at the head of their work, so it runs at their next preemption point. Arrival and release
 * are latches: the CPUs' parked flags are set before countDown and read after await, which
 * orders them (happens-before through the latch). Secondaries with no thread are treated as
 * offline-parked: they run nothing that could touch a mapping.
 */
public final class StopMachine {
    private static final long ARRIVAL_TIMEOUT_S = 60;

    private StopMachine() {}

    public static <T> T run(Cpus cpus, BbmTracker tracker, Supplier<T> fn) {
        List<Cpus.Cpu> others = new ArrayList<>();
        for (Cpus.Cpu c : cpus.all()) {
            if (c.id() != 0) {
                others.add(c);
            }
        }
        CountDownLatch arrived = new CountDownLatch(others.size());
        CountDownLatch release = new CountDownLatch(1);
        for (Cpus.Cpu c : others) {
            Runnable stopper = () -> {
                SimCpu me = SimCpu.current();
                me.preemptDisable();
                me.setInStopMachine(true);
                c.setParked(true);
                arrived.countDown();
                try {
                    release.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                } finally {
                    c.setParked(false);
                    me.setInStopMachine(false);
                    me.preemptEnable();
                }
            };
            if (c.running()) {
                c.submitFirst(stopper);
            } else {
                c.setParked(true);
                arrived.countDown();
            }
        }
        try {
            if (!arrived.await(ARRIVAL_TIMEOUT_S, TimeUnit.SECONDS)) {
                throw new IllegalStateException("stop_machine: CPUs did not park within " + ARRIVAL_TIMEOUT_S + " s");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("stop_machine interrupted", e);
        }
        SimCpu self = cpus.boot().sim();
        Object[] out = new Object[1];
        try {
            self.runAs(() -> {
                self.preemptDisable();
                self.setInStopMachine(true);
                try {
                    out[0] = fn.get();
                } finally {
                    self.setInStopMachine(false);
                    self.preemptEnable();
                }
            });
        } finally {
            if (tracker != null) {
                tracker.checkResume(others);
            }
            for (Cpus.Cpu c : others) {
                if (!c.running()) {
                    c.setParked(false);
                }
            }
            release.countDown();
        }
        @SuppressWarnings("unchecked")
        T t = (T) out[0];
        return t;
    }
}
