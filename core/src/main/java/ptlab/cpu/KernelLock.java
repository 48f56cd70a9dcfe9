package ptlab.cpu;

/**
 * Common part of ptlab's kernel locks: a name for messages, a {@link LockClass} for the order
 * check, and the bookkeeping on the owning {@link SimCpu}.
 */
public abstract class KernelLock {
    private final String name;
    private final LockClass lockClass;

    protected KernelLock(String name, LockClass lockClass) {
        this.name = name;
        this.lockClass = lockClass;
    }

    public final String name() {
        return name;
    }

    public final LockClass lockClass() {
        return lockClass;
    }

    /** Checks the order against what the calling CPU holds; throws {@link LockProtocolError} if broken. */
    protected final SimCpu beforeAcquire(int subclass) {
        SimCpu cpu = SimCpu.current();
        String err = cpu.held().checkOrder(this, subclass);
        if (err != null) {
            throw new LockProtocolError(err + " on " + cpu);
        }
        return cpu;
    }

    /**
     * The JDK locks underneath are reentrant per host thread, but a thread that runs several
     * simulated CPUs ({@link SimCpu#runAs}) must not let a second CPU walk into a lock the
     * first one holds: the kernel would spin forever there, the JDK lock would let it in and
     * two CPUs would "hold" one spinlock. Refuse it as the deadlock it is.
     */
    final void refuseHostReentry(java.util.concurrent.locks.ReentrantLock inner, SimCpu cpu) {
        if (inner.isHeldByCurrentThread()) {
            throw new LockProtocolError("taking " + name + " on " + cpu
                    + " while another simulated cpu on the same thread holds it (self-deadlock)");
        }
    }

    protected final void acquired(SimCpu cpu, int subclass) {
        cpu.held().push(this, subclass);
    }

    protected final void released(SimCpu cpu) {
        cpu.held().remove(this);
    }

    /** Whether the calling CPU holds this lock. */
    public final boolean heldByCurrentCpu() {
        return SimCpu.current().held().holds(this);
    }

    /** {@code lockdep_assert_held}. */
    public final void assertHeld() {
        if (!heldByCurrentCpu()) {
            throw new LockProtocolError(name + " is not held by " + SimCpu.current());
        }
    }

    @Override
    public String toString() {
        return name;
    }
}
