package ptlab.pgtable;

import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;
import ptlab.arch.Level;

/**
 * Global page-table counters of one simulated machine: {@code NR_PAGETABLE} (pages of live
 * constructed tables at every level and in every mm, init_mm included), live tables and
 * ctor/dtor calls per level, dynamic ptlock allocations, kernel-half sync events. All
 * counters are atomic: any CPU constructs and destructs tables.
 */
public final class PtStats {
    /** Counters start at zero. */
    public PtStats() {}

    private final AtomicLong nrPagetable = new AtomicLong();
    private final AtomicLongArray live = new AtomicLongArray(5);
    private final AtomicLongArray ctors = new AtomicLongArray(5);
    private final AtomicLongArray dtors = new AtomicLongArray(5);
    private final AtomicLong ctorFailures = new AtomicLong();
    private final AtomicLong dynamicPtlockAllocs = new AtomicLong();
    private final AtomicLong dynamicPtlockFrees = new AtomicLong();
    private final AtomicLong ptlockInits = new AtomicLong();
    private final AtomicLong syncCalls = new AtomicLong();
    private final AtomicLong syncCopies = new AtomicLong();
    private final AtomicLong installRacesLost = new AtomicLong();

    void ctor(Level l, int pages) {
        ctors.incrementAndGet(l.ordinal());
        live.incrementAndGet(l.ordinal());
        nrPagetable.addAndGet(pages);
    }

    void dtor(Level l, int pages) {
        dtors.incrementAndGet(l.ordinal());
        live.decrementAndGet(l.ordinal());
        nrPagetable.addAndGet(-pages);
    }

    void ctorFailed() {
        ctorFailures.incrementAndGet();
    }

    void ptlockInit(boolean dynamic) {
        ptlockInits.incrementAndGet();
        if (dynamic) {
            dynamicPtlockAllocs.incrementAndGet();
        }
    }

    void ptlockFree(boolean dynamic) {
        if (dynamic) {
            dynamicPtlockFrees.incrementAndGet();
        }
    }

    void sync(long copies) {
        syncCalls.incrementAndGet();
        syncCopies.addAndGet(copies);
    }

    void raceLost() {
        installRacesLost.incrementAndGet();
    }

    /** {@code NR_PAGETABLE} in pages. */
    public long nrPagetable() {
        return nrPagetable.get();
    }

    public long liveTables(Level l) {
        return live.get(l.ordinal());
    }

    public long ctorCalls(Level l) {
        return ctors.get(l.ordinal());
    }

    public long dtorCalls(Level l) {
        return dtors.get(l.ordinal());
    }

    public long ctorFailures() {
        return ctorFailures.get();
    }

    /** ptlocks taken from the {@code page->ptl} kmem_cache (ALLOC_SPLIT_PTLOCKS only). */
    public long dynamicPtlockAllocs() {
        return dynamicPtlockAllocs.get();
    }

    public long dynamicPtlockFrees() {
        return dynamicPtlockFrees.get();
    }

    /** All {@code ptlock_init} calls, embedded or dynamic. */
    public long ptlockInits() {
        return ptlockInits.get();
    }

    /** {@code arch_sync_kernel_mappings} calls that had something to do. */
    public long syncCalls() {
        return syncCalls.get();
    }

    /** Top-level entries copied into user PGDs by those calls. */
    public long syncCopies() {
        return syncCopies.get();
    }

    /** Install races lost: a table built, then freed because another CPU installed first. */
    public long installRacesLost() {
        return installRacesLost.get();
    }
}
