package ptlab.kmap;

import java.util.ArrayList;
import java.util.List;
import ptlab.arch.Level;
import ptlab.pgtable.Mm;
import ptlab.pgtable.PageTables;
import ptlab.phys.PageDesc;

/**
 * What one kernel-mapping operation (boot mapping, hot-add) allocated, accounted, stored and
 * synced, so that a failure can undo all of it in reverse order and leave the machine as it
 * was: the allocator's state, NR_PAGETABLE, every entry, every user PGD. Linux panics on a
 * failed boot mapping and tears a failed hot-add down with {@code arch_remove_memory}; ptlab
 * unwinds both exactly, so a failure sweep can assert that nothing leaked.
 */
/*
 * Implementation notes. Undo runs entry stores first (newest first), so every table is
 * unreachable before it is freed (unhook → invalidate → free; the caller flushes the range
 * after undo). Tables from memblock go back to the allocator without a dtor (they never had a
 * ctor); constructed ones through pagetable_dtor_free.
 */
public final class UndoLog {
    private interface Step {
        void undo();
    }

    private final PageTables pt;
    private final List<Step> steps = new ArrayList<>();

    public UndoLog(PageTables pt) {
        this.pt = pt;
    }

    /** Wraps {@code fn} so every table it hands out is freed on undo. */
    public PgtableAllocFn wrap(PgtableAllocFn fn) {
        return level -> {
            TableAlloc r = fn.alloc(level);
            if (r instanceof TableAlloc.Table) {
                PageDesc d = ((TableAlloc.Table) r).desc();
                steps.add(() -> freeTable(d));
            }
            return r;
        };
    }

    private void freeTable(PageDesc d) {
        if (d.memblock) {
            pt.allocator().free(d.pfn(), d.order);
        } else {
            pt.freeTable(d);
        }
    }

    /** Remembers the value an entry had before a store. */
    public void stored(PageDesc table, int index, long old) {
        steps.add(() -> PageTables.write(table, index, old));
    }

    /** Remembers frames allocated for data (vmemmap backing). */
    public void frames(long pfn, int order) {
        steps.add(() -> pt.allocator().free(pfn, order));
    }

    /** Remembers an {@code mm_inc_nr_*}. */
    public void accounted(Mm mm, Level level) {
        steps.add(() -> pt.accountTable(mm, level, -1));
    }

    /** Remembers that root entry {@code index} = {@code value} was copied into user PGDs. */
    public void synced(int index, long value) {
        steps.add(() -> pt.kernelHalf().unsyncKernelEntry(index, value));
    }

    /** Remembers an arbitrary undo action. */
    public void onUndo(Runnable r) {
        steps.add(r::run);
    }

    /** Undoes everything, newest first. */
    public void undo() {
        for (int i = steps.size() - 1; i >= 0; i--) {
            steps.get(i).undo();
        }
        steps.clear();
    }

    /** Forgets everything (the operation succeeded). */
    public void commit() {
        steps.clear();
    }
}
