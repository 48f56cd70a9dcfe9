package ptlab.kmap;

import ptlab.arch.Level;
import ptlab.pgtable.Mm;
import ptlab.pgtable.PageTables;
import ptlab.phys.AllocResult;
import ptlab.phys.Gfp;
import ptlab.phys.OutOfMemoryException;
import ptlab.phys.PageDesc;

/**
 * The table allocators of {@code arch/arm64/mm/mmu.c}, for any architecture:
 * <ul>
 * <li>{@link #memblock}: {@code early_pgtable_alloc} - a frame from the boot allocator, no ctor;</li>
 * <li>{@link #initMm}: {@code pgd_pgtable_alloc_init_mm} - GFP_PGTABLE_KERNEL, ctor with
 *     {@code &init_mm} (accounted in NR_PAGETABLE, no ptlock);</li>
 * <li>{@link #initMmGfp}: {@code pgd_pgtable_alloc_init_mm_gfp} - the same with caller's flags
 *     (6.18's GFP_ATOMIC inside stop_machine);</li>
 * <li>{@link #specialMm}: {@code pgd_pgtable_alloc_special_mm} - ctor with {@code mm = NULL}, so
 *     ptlocks are initialised (efi_mm).</li>
 * </ul>
 * Each may be wrapped by an {@link UndoLog} that remembers what it handed out.
 */
public final class TableAllocators {
    /** Fault-injection site of early (memblock) table allocations. */
    public static final String SITE_MEMBLOCK = "memblock_alloc_pgtable";
    /** Fault-injection site of {@code pagetable_alloc} for kernel tables after boot. */
    public static final String SITE_INIT_MM = "pgd_pgtable_alloc_init_mm";
    /** Fault-injection site of the special-mm allocator. */
    public static final String SITE_SPECIAL = "pgd_pgtable_alloc_special_mm";

    private TableAllocators() {}

    public static PgtableAllocFn memblock(PageTables pt) {
        return level -> {
            AllocResult r = pt.allocator().allocate(pt.tableOrder(level), Gfp.KERNEL.zeroed(), SITE_MEMBLOCK);
            if (!r.ok()) {
                return new TableAlloc.Failed(r.toString());
            }
            return new TableAlloc.Table(pt.adoptTable(pt.initMm(), pt.initMm(), level, ((AllocResult.Frames) r).pfn(), false));
        };
    }

    public static PgtableAllocFn initMm(PageTables pt) {
        return initMmGfp(pt, Gfp.PGTABLE_KERNEL);
    }

    public static PgtableAllocFn initMmGfp(PageTables pt, Gfp gfp) {
        return level -> construct(pt, pt.initMm(), pt.initMm(), level, SITE_INIT_MM, gfp);
    }

    /** Tables for {@code owner} (a special mm) constructed with {@code mm = NULL}. */
    public static PgtableAllocFn specialMm(PageTables pt, Mm owner) {
        return level -> construct(pt, owner, null, level, SITE_SPECIAL, Gfp.PGTABLE_KERNEL);
    }

    /**
     * Seed 002's mistake: tables for a special mm constructed as if they were init_mm's, so the
     * PTE (and split PMD) tables get no ptlock. {@code apply_to_page_range} on that mm then fails.
     */
    public static PgtableAllocFn specialMmWithoutPtlocks(PageTables pt, Mm owner) {
        return level -> construct(pt, owner, pt.initMm(), level, SITE_SPECIAL, Gfp.PGTABLE_KERNEL);
    }

    private static TableAlloc construct(PageTables pt, Mm owner, Mm ctorMm, Level level, String site, Gfp gfp) {
        try {
            PageDesc d = pt.allocTable(owner, ctorMm, level, site, gfp);
            return new TableAlloc.Table(d);
        } catch (OutOfMemoryException e) {
            return new TableAlloc.Failed(e.getMessage());
        }
    }
}
