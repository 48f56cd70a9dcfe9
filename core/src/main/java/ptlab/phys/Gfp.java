package ptlab.phys;

/**
 * GFP flags of an allocation ({@code include/linux/gfp_types.h}), reduced to what the page
 * table code depends on: whether it may sleep, whether the page comes zeroed, whether it is
 * charged to the memcg, and whether it is movable user memory ({@code __GFP_MOVABLE}: the
 * allocator remembers it per block, {@link PhysicalMemory#forEachMovableBlock}, so that the
 * mm layer's page-reference audit can find data folios no mapping holds any more).
 */
public record Gfp(boolean maySleep, boolean zero, boolean account, boolean movable, String name) {
    /** {@code GFP_KERNEL}: may sleep and reclaim. */
    public static final Gfp KERNEL = new Gfp(true, false, false, false, "GFP_KERNEL");
    /** {@code GFP_ATOMIC}: never sleeps, may dip into reserves. */
    public static final Gfp ATOMIC = new Gfp(false, false, false, false, "GFP_ATOMIC");
    /** {@code GFP_NOWAIT}: never sleeps, no reserves (mmu_gather batch pages). */
    public static final Gfp NOWAIT = new Gfp(false, false, false, false, "GFP_NOWAIT");
    /** {@code GFP_PGTABLE_KERNEL = GFP_KERNEL | __GFP_ZERO}. */
    public static final Gfp PGTABLE_KERNEL = new Gfp(true, true, false, false, "GFP_PGTABLE_KERNEL");
    /** {@code GFP_PGTABLE_USER = GFP_PGTABLE_KERNEL | __GFP_ACCOUNT}. */
    public static final Gfp PGTABLE_USER = new Gfp(true, true, true, false, "GFP_PGTABLE_USER");
    /** A user data page ({@code GFP_HIGHUSER_MOVABLE}); contents are not modelled. */
    public static final Gfp HIGHUSER = new Gfp(true, false, true, true, "GFP_HIGHUSER_MOVABLE");

    /** The same flags plus {@code __GFP_ZERO}. */
    public Gfp zeroed() {
        return zero ? this : new Gfp(maySleep, true, account, movable, name + "|__GFP_ZERO");
    }

    @Override
    public String toString() {
        return name;
    }
}
