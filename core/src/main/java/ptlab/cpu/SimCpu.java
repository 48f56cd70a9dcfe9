package ptlab.cpu;

/**
 * The execution context of the running thread: a simulated CPU. It carries what Linux keeps
 * per CPU or per task and what the checks need: the preemption count (raised by spinlocks,
 * {@code preempt_disable}), RCU read-side nesting, whether the CPU runs inside
 * {@code stop_machine}, the locks it holds (for the lock-order check), and a slot for the MMU
 * layer's TLB.
 *
 * <p>A thread bound with {@link #runAs} is that CPU; any other thread gets a private
 * anonymous context on first use (id -1), so checks work in plain unit tests too. A context
 * is only ever touched by its own thread, so its fields are plain.
 */
public final class SimCpu {
    private static final ThreadLocal<SimCpu> CURRENT = ThreadLocal.withInitial(() -> new SimCpu(-1));

    private final int id;
    private int preemptCount;
    private int rcuNesting;
    private boolean inStopMachine;
    private final HeldLocks held = new HeldLocks();
    private Object mmuState;
    private Object rcuState;
    private Object pcpOwner;
    private Object pcp;
    private Object currentMm;

    public SimCpu(int id) {
        this.id = id;
    }

    /** The context of the calling thread. */
    public static SimCpu current() {
        return CURRENT.get();
    }

    /** Runs {@code body} on the calling thread as this CPU, then restores the previous binding. */
    public void runAs(Runnable body) {
        SimCpu prev = CURRENT.get();
        CURRENT.set(this);
        try {
            body.run();
        } finally {
            CURRENT.set(prev);
        }
    }

    /** Binds the calling thread to this CPU for good (a CPU thread's first act). */
    public void bindCurrentThread() {
        CURRENT.set(this);
    }

    public int id() {
        return id;
    }

    /* ---- atomic context ---- */

    public void preemptDisable() {
        preemptCount++;
    }

    public void preemptEnable() {
        if (preemptCount == 0) {
            throw new IllegalStateException("preempt_enable without preempt_disable on cpu " + id);
        }
        preemptCount--;
    }

    public int preemptCount() {
        return preemptCount;
    }

    /**
     * do_exit's "exited with preempt_count N" repair ({@code preempt_count_set(PREEMPT_ENABLED)}):
     * a task that died with preemption disabled (an exception unwound it) must not leave the CPU
     * atomic for whoever runs next. Also leaves a stop_machine flag behind. Returns the count
     * it found. The RCU side is {@code RcuReaders.exitTask}.
     */
    public int resetPreemptCount() {
        int was = preemptCount;
        preemptCount = 0;
        inStopMachine = false;
        return was;
    }

    public void rcuEnter() {
        rcuNesting++;
    }

    public void rcuExit() {
        if (rcuNesting == 0) {
            throw new IllegalStateException("rcu_read_unlock without rcu_read_lock on cpu " + id);
        }
        rcuNesting--;
    }

    public int rcuNesting() {
        return rcuNesting;
    }

    public boolean inStopMachine() {
        return inStopMachine;
    }

    public void setInStopMachine(boolean on) {
        inStopMachine = on;
    }

    /** {@code in_atomic()} as a sleeping allocation sees it: preemption off, RCU reader, stop_machine. */
    public boolean inAtomic() {
        return preemptCount > 0 || rcuNesting > 0 || inStopMachine;
    }

    /** A short description of why the context is atomic, for violation messages. */
    public String atomicReason() {
        StringBuilder b = new StringBuilder();
        if (preemptCount > 0) {
            b.append("preempt_count=").append(preemptCount).append(' ');
        }
        if (held.depth() > 0) {
            b.append("holding ").append(held).append(' ');
        }
        if (rcuNesting > 0) {
            b.append("rcu_read_lock depth ").append(rcuNesting).append(' ');
        }
        if (inStopMachine) {
            b.append("inside stop_machine ");
        }
        return b.toString().trim();
    }

    HeldLocks held() {
        return held;
    }

    /** Names of the locks held, innermost last. */
    public String heldLocks() {
        return held.toString();
    }

    public int locksHeld() {
        return held.depth();
    }

    /* ---- slots for upper layers ---- */

    public Object mmuState() {
        return mmuState;
    }

    public void setMmuState(Object s) {
        mmuState = s;
    }

    /** The page allocator's cache on this CPU if {@code owner} set it last, else null (a one-entry memo). */
    public Object pcpMemo(Object owner) {
        return pcpOwner == owner ? pcp : null;
    }

    public void setPcpMemo(Object owner, Object cache) {
        pcpOwner = owner;
        pcp = cache;
    }

    /** The RCU layer's per-CPU reader record (set once, by this CPU). */
    public Object rcuState() {
        return rcuState;
    }

    public void setRcuState(Object s) {
        rcuState = s;
    }

    public Object currentMm() {
        return currentMm;
    }

    public void setCurrentMm(Object mm) {
        currentMm = mm;
    }

    @Override
    public String toString() {
        return id < 0 ? "cpu(" + Thread.currentThread().getName() + ")" : "cpu" + id;
    }
}
