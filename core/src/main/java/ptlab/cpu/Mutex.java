package ptlab.cpu;

import java.util.concurrent.locks.ReentrantLock;

/**
 * {@code struct mutex}: a sleeping lock. Taking it from atomic context is a might-sleep
 * violation, recorded in the log given at construction.
 */
public final class Mutex extends KernelLock {
    private final ReentrantLock inner = new ReentrantLock();
    private final ViolationLog log;

    public Mutex(String name, LockClass lockClass, ViolationLog log) {
        super(name, lockClass);
        this.log = log;
    }

    public void lock() {
        SimCpu cpu = beforeAcquire(0);
        refuseHostReentry(inner, cpu);
        if (cpu.inAtomic()) {
            log.record("might-sleep", "mutex_lock(" + name() + ") in atomic context on " + cpu + ": " + cpu.atomicReason());
        }
        inner.lock();
        acquired(cpu, 0);
    }

    public void unlock() {
        released(SimCpu.current());
        inner.unlock();
    }
}
