package ptlab.pgtable;

import java.util.ArrayDeque;
import java.util.concurrent.atomic.AtomicLong;
import ptlab.cpu.LockClass;
import ptlab.cpu.RwSemaphore;
import ptlab.cpu.SpinLock;
import ptlab.phys.PageDesc;

/**
 * The page-table part of an {@code mm_struct}: its root table, {@code page_table_lock},
 * {@code mmap_lock}, the {@code pgtables_bytes} counter behind VmPTE, and the THP deposit list
 * used when PMD tables have no split lock ({@code mm->pmd_huge_pte}).
 */
public final class Mm {
    private final int id;
    private final String name;
    private final MmKind kind;
    private final SpinLock pageTableLock;
    private final RwSemaphore mmapLock;
    private final AtomicLong pgtablesBytes = new AtomicLong();
    /** Deposit stack when PMD tables have no ptlock; guarded by {@link #pageTableLock}. */
    final ArrayDeque<PageDesc> mmDeposits = new ArrayDeque<>();
    private volatile PageDesc pgd;
    private volatile boolean onPgdList;
    private volatile boolean dead;
    /** {@code mm->tlb_flush_pending}: gathers of this mm open now. */
    private final java.util.concurrent.atomic.AtomicInteger tlbFlushPending = new java.util.concurrent.atomic.AtomicInteger();

    Mm(int id, String name, MmKind kind, ptlab.cpu.ViolationLog log) {
        this.id = id;
        this.name = name;
        this.kind = kind;
        this.pageTableLock = new SpinLock(name + ".page_table_lock", LockClass.PAGE_TABLE_LOCK);
        this.mmapLock = new RwSemaphore(name + ".mmap_lock", log);
    }

    public int id() {
        return id;
    }

    public String name() {
        return name;
    }

    public MmKind kind() {
        return kind;
    }

    public boolean isInitMm() {
        return kind == MmKind.INIT;
    }

    /** The root table ({@code mm->pgd}). */
    public PageDesc pgd() {
        return pgd;
    }

    void setPgd(PageDesc d) {
        pgd = d;
    }

    public SpinLock pageTableLock() {
        return pageTableLock;
    }

    public RwSemaphore mmapLock() {
        return mmapLock;
    }

    /** {@code mm_pgtables_bytes}: what VmPTE reports (PTE, PMD, PUD tables, deposits included). */
    public long pgtablesBytes() {
        return pgtablesBytes.get();
    }

    void addPgtablesBytes(long delta) {
        pgtablesBytes.addAndGet(delta);
    }

    public boolean onPgdList() {
        return onPgdList;
    }

    void setOnPgdList(boolean on) {
        onPgdList = on;
    }

    /** Whether {@code pgd_free} ran (the mm is gone). */
    public boolean isDead() {
        return dead;
    }

    void markDead() {
        dead = true;
    }

    /** {@code inc_tlb_flush_pending}: a gather of this mm opened (its flush is to come). */
    public void incTlbFlushPending() {
        tlbFlushPending.incrementAndGet();
    }

    /** {@code dec_tlb_flush_pending}: that gather flushed and closed. */
    public void decTlbFlushPending() {
        tlbFlushPending.decrementAndGet();
    }

    /** {@code mm_tlb_flush_pending}: whether a gather of this mm is open. */
    public boolean tlbFlushPending() {
        return tlbFlushPending.get() > 0;
    }

    @Override
    public String toString() {
        return name;
    }
}
