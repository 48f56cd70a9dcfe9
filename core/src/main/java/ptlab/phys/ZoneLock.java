package ptlab.phys;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * The buddy allocator's zone lock ({@code zone->lock}): a test-and-test-and-set spinlock that
 * yields the host CPU when it cannot get in after a short spin.
 *
 * <p>Why not {@code synchronized}: on the JDK 17 host an uncontended monitor enter/exit costs
 * about 29 ns and an order-0 allocate+free pair takes two of them, which alone is over the
 * 50 ns budget of that pair; this lock costs one CAS and one release store (about 14 ns).
 * Critical sections are short and never block, and nothing is taken inside this lock (it
 * is the leaf {@code ZONE} class of the lock order), so spinning is the right shape; the
 * yield keeps many simulated CPUs on two host cores from burning a holder's time slice.
 *
 * <p>Ordering: the acquiring CAS has acquire semantics and {@link #unlock} is a release
 * store of the same variable, so everything one holder wrote happens-before what the next
 * holder reads.
 */
final class ZoneLock {
    private static final VarHandle STATE;
    private static final int SPINS = 64;

    static {
        try {
            STATE = MethodHandles.lookup().findVarHandle(ZoneLock.class, "state", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /** 0 free, 1 held; accessed only through {@link #STATE}. */
    @SuppressWarnings("unused")
    private volatile int state;

    void lock() {
        if (!STATE.weakCompareAndSetAcquire(this, 0, 1)) {
            lockSlow();
        }
    }

    private void lockSlow() {
        int spins = 0;
        while (true) {
            // Test before test-and-set: spin on a read so waiters do not bounce the line.
            if ((int) STATE.getOpaque(this) == 0 && STATE.weakCompareAndSetAcquire(this, 0, 1)) {
                return;
            }
            if (++spins < SPINS) {
                Thread.onSpinWait();
            } else {
                spins = 0;
                Thread.yield();
            }
        }
    }

    void unlock() {
        STATE.setRelease(this, 0);
    }
}
