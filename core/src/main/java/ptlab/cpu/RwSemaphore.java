package ptlab.cpu;

import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * {@code struct rw_semaphore}, as used for {@code mmap_lock}: shared readers, one writer,
 * sleeping. {@link #assertLocked()} and {@link #assertWriteLocked()} are
 * {@code mmap_assert_locked} and {@code mmap_assert_write_locked}.
 */
public final class RwSemaphore extends KernelLock {
    private final ReentrantReadWriteLock inner = new ReentrantReadWriteLock();
    private final ViolationLog log;

    public RwSemaphore(String name, ViolationLog log) {
        super(name, LockClass.MMAP_LOCK);
        this.log = log;
    }

    private SimCpu enter() {
        SimCpu cpu = beforeAcquire(0);
        if (cpu.inAtomic()) {
            log.record("might-sleep", "down(" + name() + ") in atomic context on " + cpu + ": " + cpu.atomicReason());
        }
        return cpu;
    }

    public void readLock() {
        SimCpu cpu = enter();
        if (inner.isWriteLockedByCurrentThread()) {
            throw new LockProtocolError("down_read(" + name() + ") on " + cpu
                    + " while another simulated cpu on the same thread holds it for write (self-deadlock)");
        }
        inner.readLock().lock();
        acquired(cpu, 0);
    }

    public void readUnlock() {
        if (inner.getReadHoldCount() == 0) {
            throw new LockProtocolError("up_read(" + name() + ") without a read hold on " + SimCpu.current());
        }
        released(SimCpu.current());
        inner.readLock().unlock();
    }

    public void writeLock() {
        SimCpu cpu = enter();
        if (inner.isWriteLockedByCurrentThread() || inner.getReadHoldCount() > 0) {
            throw new LockProtocolError("down_write(" + name() + ") on " + cpu
                    + " while another simulated cpu on the same thread holds it (self-deadlock)");
        }
        inner.writeLock().lock();
        acquired(cpu, 0);
    }

    public void writeUnlock() {
        assertWriteLocked();
        released(SimCpu.current());
        inner.writeLock().unlock();
    }

    /** {@code mmap_write_downgrade}. */
    public void downgrade() {
        assertWriteLocked();
        inner.readLock().lock();
        inner.writeLock().unlock();
    }

    public boolean isWriteLockedByCurrentThread() {
        return inner.isWriteLockedByCurrentThread();
    }

    public void assertLocked() {
        assertHeld();
    }

    public void assertWriteLocked() {
        if (!inner.isWriteLockedByCurrentThread()) {
            throw new LockProtocolError(name() + " is not write-locked by " + SimCpu.current());
        }
    }
}
