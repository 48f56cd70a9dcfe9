package ptlab.rcu;

import java.util.ArrayDeque;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;
import ptlab.cpu.SimCpu;
import ptlab.cpu.ViolationLog;

/**
 * The update side of RCU for one simulated machine ({@code kernel/rcu/tree.c} in spirit):
 * {@code call_rcu}, {@code synchronize_rcu}, {@code rcu_barrier}, and a count of completed
 * grace periods. Read sections are {@link RcuReaders#readLock()} / {@link RcuReaders#readUnlock()}.
 *
 * <p>Callbacks run after a real grace period: every CPU that was inside a read section when
 * the callback was queued has left it. They run on the CPU that finds them ready, in
 * {@link #callRcu} (a cheap poll, like the softirq that follows a tick), {@link #poll},
 * {@link #synchronizeRcu} or {@link #barrier}; never inside the caller's own read section
 * with an older reader still pending, since readiness is what lets them run.
 */
/*
 * Implementation notes.
 *
 * The queue is FIFO and cookies grow along it (a cookie is taken under the queue lock), so
 * ready callbacks form a prefix: poll runs the prefix and stops at the first one whose grace
 * period has not elapsed. Callbacks run outside the queue lock, in queue order per batch; a
 * batch of at least one callback whose cookie became ready counts one grace period, as does
 * each synchronize_rcu. Waiting spins with parking backoff: two host cores carry many CPUs.
 *
 * synchronize_rcu and rcu_barrier may sleep: from a read section they would wait for
 * themselves, so that is a might-sleep violation and an IllegalStateException.
 */
public final class Rcu {
    private record Callback(long cookie, Runnable fn) {}

    private final ViolationLog log;
    private final ArrayDeque<Callback> queue = new ArrayDeque<>();
    private final AtomicLong gracePeriods = new AtomicLong();
    private final AtomicLong queued = new AtomicLong();
    private final AtomicLong invoked = new AtomicLong();
    private final AtomicLong waits = new AtomicLong();
    /**
     * Serialises callback invocation, so that callbacks run in order and barrier sees them done.
     * poll only tries it: while one CPU runs the ready callbacks the others go on, as a CPU
     * never waits for another's RCU softirq (with a monitor here, two CPUs freeing page tables
     * under PT reclaim spent their time blocked on each other: FaultInBench).
     */
    private final ReentrantLock runLock = new ReentrantLock();

    public Rcu(ViolationLog log) {
        this.log = log;
    }

    /** {@code call_rcu(head, fn)}: runs {@code fn} after a grace period. Never blocks. */
    public void callRcu(Runnable fn) {
        synchronized (queue) {
            queue.addLast(new Callback(RcuReaders.newCookie(), fn));
        }
        queued.incrementAndGet();
        poll();
    }

    /**
     * Runs every callback whose grace period has elapsed; returns how many ran. Never blocks:
     * if another CPU is running callbacks right now, it leaves them to it and returns 0.
     */
    public int poll() {
        synchronized (queue) {
            Callback c = queue.peekFirst();
            if (c == null || !RcuReaders.elapsed(c.cookie)) {
                return 0; // nothing ready: the common case, without touching runLock
            }
        }
        if (!runLock.tryLock()) {
            return 0;
        }
        int n = 0;
        try {
            while (true) {
                Callback c;
                synchronized (queue) {
                    c = queue.peekFirst();
                    if (c == null || !RcuReaders.elapsed(c.cookie)) {
                        break;
                    }
                    queue.pollFirst();
                }
                c.fn.run();
                invoked.incrementAndGet();
                n++;
            }
        } finally {
            runLock.unlock();
        }
        if (n > 0) {
            ptlab.events.Tracepoints.gracePeriod(gracePeriods.incrementAndGet(), n);
        }
        return n;
    }

    /** {@code synchronize_rcu()}: waits until every read section present at the call has ended. */
    public void synchronizeRcu() {
        mightSleep("synchronize_rcu");
        waitFor(RcuReaders.newCookie());
        ptlab.events.Tracepoints.gracePeriod(gracePeriods.incrementAndGet(), 0);
        poll();
    }

    /** {@code rcu_barrier()}: waits until every callback queued before the call has run. */
    public void barrier() {
        mightSleep("rcu_barrier");
        long last;
        synchronized (queue) {
            Callback c = queue.peekLast();
            if (c == null) {
                last = 0;
            } else {
                last = c.cookie;
            }
        }
        if (last != 0) {
            waitFor(last);
        }
        while (true) {
            poll();
            synchronized (queue) {
                Callback c = queue.peekFirst();
                if (c == null || c.cookie > last) {
                    break;
                }
            }
            Thread.onSpinWait();
        }
        // A concurrent poll may still be running callbacks of ours: wait for it to finish.
        runLock.lock();
        runLock.unlock();
        RcuReaders.prune();
    }

    private void waitFor(long cookie) {
        waits.incrementAndGet();
        int spins = 0;
        long deadline = System.nanoTime() + 60_000_000_000L;
        while (!RcuReaders.elapsed(cookie)) {
            if (++spins < 64) {
                Thread.onSpinWait();
            } else if (spins < 256) {
                Thread.yield();
            } else {
                LockSupport.parkNanos(20_000);
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("RCU grace period stalled for 60 s: " + RcuReaders.blocker(cookie)
                            + " stays in its read section (rcu_sched stall)");
                }
            }
        }
    }

    private void mightSleep(String what) {
        SimCpu cpu = SimCpu.current();
        if (cpu.rcuNesting() > 0) {
            log.record("might-sleep", what + " inside an RCU read section on " + cpu + " (it would wait for itself)");
            throw new IllegalStateException(what + " inside an RCU read section on " + cpu);
        }
        if (cpu.inAtomic()) {
            log.record("might-sleep", what + " in atomic context on " + cpu + ": " + cpu.atomicReason());
        }
    }

    /* ---- statistics ---- */

    /** Grace periods completed: each synchronize_rcu, and each poll that ran a ready batch. */
    public long gracePeriods() {
        return gracePeriods.get();
    }

    public long callbacksQueued() {
        return queued.get();
    }

    public long callbacksInvoked() {
        return invoked.get();
    }

    /** Callbacks queued and not yet run. */
    public int pending() {
        synchronized (queue) {
            return queue.size();
        }
    }

    /** Blocking grace-period waits (synchronize_rcu and rcu_barrier). */
    public long blockingWaits() {
        return waits.get();
    }
}
