package ptlab.mmu;

import java.util.ArrayList;
import java.util.List;
import ptlab.pgtable.Mm;
import ptlab.phys.PageDesc;

/**
 * {@code struct mmu_gather} in try-with-resources form. An operation that removes mappings
 * or tables of {@code mm} unhooks them first (clears the entries), tells the gather
 * ({@link #removeTlbEntry}, {@link #removeTable}), and the gather invalidates TLBs before any
 * table is handed to the {@link TableFreer}: unhook, invalidate, free, in that order, always.
 *
 * <pre>
 * try (TlbGather tlb = mmu.gather(mm)) {
 *     PageTables.write(pmdTable, i, 0);        // unhook
 *     tlb.removeTable(pteTable, addr, end);    // pte_free_tlb
 * }                                            // tlb_finish_mmu: flush, then free
 * </pre>
 *
 * <p>Batching: the range grows to cover every removal ({@code __tlb_adjust_range}); when the
 * table batch is full ({@link #BATCH}) the gather flushes and frees early
 * ({@code tlb_flush_mmu}). A range of more than {@link Mmu#flushCeiling()} pages becomes a
 * flush of the whole mm, as x86's {@code tlb_single_page_flush_ceiling}. While open, the mm's
 * {@code tlb_flush_pending} is raised. One thread uses a gather.
 */
public final class TlbGather implements AutoCloseable {
    /** Tables per batch before an early flush (a page of pointers in the kernel; smaller here). */
    public static final int BATCH = 64;

    private final Mmu mmu;
    private final Mm mm;
    private final List<PageDesc> tables = new ArrayList<>();
    private long start = -1;
    private long end;
    private boolean closed;

    TlbGather(Mmu mmu, Mm mm) {
        this.mmu = mmu;
        this.mm = mm;
        mm.incTlbFlushPending();
    }

    /** {@code tlb_remove_tlb_entry}: a leaf covering {@code [addr, addr + size)} was cleared. */
    public void removeTlbEntry(long addr, long size) {
        adjust(addr, addr + size);
    }

    /** {@code p?d_free_tlb}: {@code table}, mapping {@code [addr, end)}, was unhooked; free it after the flush. */
    public void removeTable(PageDesc table, long addr, long end) {
        adjust(addr, end);
        tables.add(table);
        if (tables.size() >= BATCH) {
            flushMmu();
        }
    }

    private void adjust(long a, long e) {
        if (closed) {
            throw new IllegalStateException("gather of " + mm + " used after close");
        }
        if (start == -1) {
            start = a;
            end = e;
            return;
        }
        if (Long.compareUnsigned(a, start) < 0) {
            start = a;
        }
        if (Long.compareUnsigned(e - 1, end - 1) > 0) {
            end = e;
        }
    }

    /** {@code tlb_flush_mmu}: invalidate the gathered range on every CPU, then free the gathered tables. */
    public void flushMmu() {
        if (start != -1) {
            long pages = (end - start) >>> mmu.arch().geometry().pageShift();
            if (Long.compareUnsigned(pages, mmu.flushCeiling()) > 0) {
                mmu.flushMm(mm);
            } else {
                mmu.flushRange(mm, start, end);
            }
            start = -1;
            end = 0;
        }
        if (!tables.isEmpty()) {
            List<PageDesc> batch = new ArrayList<>(tables);
            tables.clear();
            mmu.tableFreer().free(batch);
        }
    }

    /** Whether nothing is waiting for a flush. */
    public boolean isEmpty() {
        return start == -1 && tables.isEmpty();
    }

    /** {@code tlb_finish_mmu}. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        try {
            flushMmu();
        } finally {
            closed = true;
            mm.decTlbFlushPending();
        }
    }
}
