package ptlab.rcu;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.lang.ref.WeakReference;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;
import ptlab.cpu.SimCpu;

/**
 * The read side of RCU for every simulated CPU of the JVM: {@code rcu_read_lock} /
 * {@code rcu_read_unlock} with nesting, and the grace-period sequence that writers wait on.
 * One reader record per {@link SimCpu}; a CPU is a reader whatever machine's tables it reads,
 * so the records are global and every {@link Rcu} domain waits on all of them (waiting on a
 * reader of another machine is only conservative).
 */
/*
 * Implementation notes (the "memb" flavour of userspace RCU, one counter per reader).
 *
 * A reader record holds 0 outside a read section, else the value of SEQ when its outermost
 * rcu_read_lock ran. A writer that has unlinked something takes a cookie c = ++SEQ; every
 * reader that could still hold a reference entered before that increment, so it shows a
 * non-zero value below c. The grace period for c is over once no record shows 0 < v < c
 * (a record that left and came back shows >= c and cannot hold the old reference).
 *
 * Ordering is the store-buffering (Dekker) pattern of urcu: the reader stores its record,
 * full fence, then loads the protected pointer (acquire); the writer release-stores the unlink,
 * increments SEQ (a volatile read-modify-write), full fence, then loads every record. Either
 * the writer sees the record, or the reader's pointer load comes after the unlink and sees the
 * new value. rcu_read_unlock is a release store of 0: every read inside the section happens
 * before a writer that sees the 0 frees anything.
 */
public final class RcuReaders {
    private static final VarHandle CTR;

    static {
        try {
            CTR = MethodHandles.lookup().findVarHandle(Reader.class, "ctr", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /** The grace-period sequence; starts at 1 so that 0 means "not in a read section". */
    private static final AtomicLong SEQ = new AtomicLong(1);
    private static final CopyOnWriteArrayList<Reader> READERS = new CopyOnWriteArrayList<>();

    private RcuReaders() {}

    /** One CPU's record; written only by its CPU, read by grace-period waiters. */
    static final class Reader {
        @SuppressWarnings("unused") // accessed through CTR
        private volatile long ctr;
        final WeakReference<SimCpu> cpu;
        final String name;

        Reader(SimCpu cpu) {
            this.cpu = new WeakReference<>(cpu);
            this.name = cpu.toString();
        }

        long ctr() {
            return (long) CTR.getVolatile(this);
        }
    }

    private static Reader readerOf(SimCpu cpu) {
        Object o = cpu.rcuState();
        if (o == null) {
            Reader r = new Reader(cpu);
            cpu.setRcuState(r);
            READERS.add(r);
            return r;
        }
        return (Reader) o;
    }

    /** {@code rcu_read_lock()}: enters a read section (nesting allowed). */
    public static void readLock() {
        SimCpu cpu = SimCpu.current();
        if (cpu.rcuNesting() == 0) {
            Reader r = readerOf(cpu);
            CTR.setVolatile(r, SEQ.get());
            VarHandle.fullFence(); // smp_mb(): the record is visible before any protected load
        }
        cpu.rcuEnter();
    }

    /** {@code rcu_read_unlock()}. */
    public static void readUnlock() {
        SimCpu cpu = SimCpu.current();
        cpu.rcuExit();
        if (cpu.rcuNesting() == 0) {
            CTR.setRelease(readerOf(cpu), 0L); // the section's reads happen before a free that sees 0
        }
    }

    /**
     * What a task that died on the calling CPU (an exception unwound it) left behind, ended as
     * {@code do_exit} does: {@code exit_rcu()} closes its RCU read sections, so grace periods
     * no longer wait for it (they would stall forever), and the preemption count is reset.
     * Returns a description of what was left ("rcu_read_lock depth 3 preempt_count=1"), or
     * {@code null} if the CPU was clean. Locks the task still holds are not released.
     */
    public static String exitTask() {
        SimCpu cpu = SimCpu.current();
        int depth = cpu.rcuNesting();
        int preempt = cpu.preemptCount();
        if (depth == 0 && preempt == 0 && !cpu.inStopMachine()) {
            return null;
        }
        String what = cpu.atomicReason();
        while (cpu.rcuNesting() > 0) {
            readUnlock();
        }
        cpu.resetPreemptCount();
        return what;
    }

    /** {@code rcu_read_lock_held()} for the calling CPU. */
    public static boolean inReadSection() {
        return SimCpu.current().rcuNesting() > 0;
    }

    /** Starts waiting for the readers present now; returns the cookie ({@code get_state_synchronize_rcu}). */
    static long newCookie() {
        VarHandle.fullFence(); // the unlink before the increment (the increment is a full barrier too)
        return SEQ.incrementAndGet();
    }

    /** {@code poll_state_synchronize_rcu(cookie)}: whether no reader from before the cookie remains. */
    static boolean elapsed(long cookie) {
        VarHandle.fullFence();
        for (Reader r : READERS) {
            long v = r.ctr();
            if (v != 0 && v < cookie) {
                if (r.cpu.get() == null) {
                    READERS.remove(r); // its CPU died inside a section: nothing of it is left to read
                    continue;
                }
                return false;
            }
        }
        return true;
    }

    /** The CPU a grace period is waiting for, for diagnostics; {@code null} if none. */
    static String blocker(long cookie) {
        for (Reader r : READERS) {
            long v = r.ctr();
            if (v != 0 && v < cookie) {
                return r.name;
            }
        }
        return null;
    }

    /** Drops records of CPUs that no longer exist (threads gone) and sit outside a section. */
    static void prune() {
        for (Reader r : READERS) {
            if (r.cpu.get() == null && r.ctr() == 0) {
                READERS.remove(r);
            }
        }
    }
}
