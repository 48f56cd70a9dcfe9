package ptlab.cpu;

import java.util.concurrent.locks.ReentrantLock;

/**
 * {@code spinlock_t}: taking it disables preemption (the CPU is atomic until release), it may
 * not be taken recursively, and it obeys {@link LockClass} order. Contention parks the thread
 * instead of spinning (two host cores run many simulated CPUs), which does not change what
 * the simulated kernel observes.
 */
public final class SpinLock extends KernelLock {
    private final ReentrantLock inner = new ReentrantLock();

    public SpinLock(String name, LockClass lockClass) {
        super(name, lockClass);
        if (lockClass.sleeping()) {
            throw new IllegalArgumentException(lockClass + " is a sleeping lock class");
        }
    }

    /** {@code spin_lock}. */
    public void lock() {
        lockNested(0);
    }

    /** {@code spin_lock_nested(lock, subclass)}. */
    public void lockNested(int subclass) {
        SimCpu cpu = beforeAcquire(subclass);
        refuseHostReentry(inner, cpu);
        cpu.preemptDisable();
        inner.lock();
        acquired(cpu, subclass);
    }

    /** {@code spin_trylock}. */
    public boolean tryLock() {
        SimCpu cpu = SimCpu.current();
        if (cpu.held().holds(this)) {
            throw new LockProtocolError("trylock of " + name() + " already held by " + cpu);
        }
        if (inner.isHeldByCurrentThread()) {
            // Held by another simulated CPU on this thread: to the simulated kernel, contended.
            return false;
        }
        cpu.preemptDisable();
        if (inner.tryLock()) {
            acquired(cpu, 0);
            return true;
        }
        cpu.preemptEnable();
        return false;
    }

    /** {@code spin_unlock}. */
    public void unlock() {
        SimCpu cpu = SimCpu.current();
        released(cpu);
        inner.unlock();
        cpu.preemptEnable();
    }

    /** Whether any CPU holds it ({@code spin_is_locked}). */
    public boolean isLocked() {
        return inner.isLocked();
    }
}
