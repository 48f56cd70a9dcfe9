package ptlab.kmap;

import ptlab.arch.Level;
import ptlab.pgtable.PageTables;
import ptlab.phys.AllocResult;
import ptlab.phys.Gfp;

/**
 * The preallocated tables of the Jan-2026 fix (seed 003): {@code split_pgtables},
 * {@code split_pgtables_count}, {@code split_pgtables_idx}. {@link #prealloc} runs before
 * stop_machine with sleeping allocations - the pointer array from {@code __get_free_pages}
 * and one {@code pagetable_alloc(GFP_PGTABLE_KERNEL & ~__GFP_ZERO)} page per table; inside,
 * {@link #alloc} ({@code pgd_pgtable_get_preallocated}) only hands them out and runs the level
 * ctor for init_mm, which allocates nothing (no ptlock for init_mm); afterwards
 * {@link #freeLeftovers} ({@code linear_map_free_split_pgtables}) frees what was not used.
 */
public final class SplitPool implements PgtableAllocFn {
    /** Fault-injection site of the pointer array. */
    public static final String SITE_ARRAY = "split_pgtables";
    /** Fault-injection site of each preallocated table. */
    public static final String SITE_TABLE = "split_pgtables[i]";

    private final PageTables pt;
    private long[] pfns = new long[0];
    private long arrayPfn = -1;
    private int arrayOrder;
    private int count;
    private int idx;

    public SplitPool(PageTables pt) {
        this.pt = pt;
    }

    /**
     * Allocates {@code count} table pages. On failure everything taken so far is freed.
     *
     * @return OK, or ENOMEM naming the failed allocation
     */
    public KmapResult prealloc(long count) {
        freeLeftovers();
        if (count == 0) {
            return KmapResult.OK;
        }
        long bytes = count * 8; // sizeof(struct ptdesc *)
        long pages = (bytes + pt.geometry().pageSize() - 1) >>> pt.geometry().pageShift();
        int order = 64 - Long.numberOfLeadingZeros(pages - 1); // get_order
        if (order > ptlab.phys.BuddyAllocator.MAX_ORDER || count > Integer.MAX_VALUE - 8) {
            return KmapResult.noMemory(SITE_ARRAY + ": " + count + " pointers need order " + order);
        }
        AllocResult a = pt.allocator().allocate(order, Gfp.KERNEL.zeroed(), SITE_ARRAY);
        if (!a.ok()) {
            return KmapResult.noMemory(a.toString());
        }
        arrayPfn = ((AllocResult.Frames) a).pfn();
        arrayOrder = order;
        pfns = new long[(int) count];
        this.count = 0;
        for (int i = 0; i < count; i++) {
            AllocResult r = pt.allocator().allocate(0, Gfp.KERNEL, SITE_TABLE);
            if (!r.ok()) {
                freeLeftovers();
                return KmapResult.noMemory(r.toString());
            }
            pfns[i] = ((AllocResult.Frames) r).pfn();
            this.count++;
        }
        return KmapResult.OK;
    }

    /** {@code pgd_pgtable_get_preallocated}: the next page, constructed as an init_mm table of {@code level}. */
    @Override
    public TableAlloc alloc(Level level) {
        if (idx >= count) {
            pt.log().record("split-pool", "pgd_pgtable_get_preallocated: pool of " + count + " tables exhausted (WARN_ON)");
            return new TableAlloc.Failed("split pool exhausted after " + count + " tables");
        }
        long pfn = pfns[idx++];
        try {
            return new TableAlloc.Table(pt.adoptTable(pt.initMm(), pt.initMm(), level, pfn, true));
        } catch (ptlab.phys.OutOfMemoryException e) {
            // The ctor failed (ptlock_alloc, where init_mm tables get dynamic ptlocks): the page
            // goes back now, as freeLeftovers would have freed it unused; the split unwinds on Failed.
            pt.allocator().free(pfn, 0);
            return new TableAlloc.Failed(e.getMessage());
        }
    }

    public int count() {
        return count;
    }

    /** Tables handed out so far. */
    public int used() {
        return idx;
    }

    /** {@code linear_map_free_split_pgtables}: frees unused pages and the pointer array. */
    public void freeLeftovers() {
        for (int i = idx; i < count; i++) {
            pt.allocator().free(pfns[i], 0);
        }
        if (arrayPfn >= 0) {
            pt.allocator().free(arrayPfn, arrayOrder);
        }
        arrayPfn = -1;
        pfns = new long[0];
        count = 0;
        idx = 0;
    }
}
