package ptlab.kmap;

import ptlab.phys.Gfp;

/**
 * {@code linear_map_maybe_split_to_ptes}: when the boot CPU has BBML2_NOABORT but some
 * secondary does not, the block-mapped linear map must become PTEs before the secondaries use
 * it, under stop_machine. Two versions:
 *
 * <ul>
 * <li>{@link Mode#PREALLOCATED} (the Jan-2026 fix, seed 003): count the tables with a walk
 *     ({@code collect_to_split_*}), preallocate them with sleeping allocations, split inside
 *     stop_machine with {@code pgd_pgtable_get_preallocated} only, free the leftovers;</li>
 * <li>{@link Mode#GFP_ATOMIC} (6.18): allocate with GFP_ATOMIC inside stop_machine - a
 *     might-sleep violation on PREEMPT_RT, where the allocator's locks sleep.</li>
 * </ul>
 * Either way the splitting CPU flushes the whole linear map from the TLB before the others
 * resume ({@code flush_tlb_kernel_range(lstart, lend)}).
 */
public final class LinearMapSplit {
    /** How the split gets its tables. */
    public enum Mode {
        PREALLOCATED,
        GFP_ATOMIC
    }

    /**
     * What happened.
     *
     * @param result   OK, or why nothing (or not everything) was split
     * @param counted  tables the counting walk asked for (0 in GFP_ATOMIC mode)
     * @param consumed tables the split used
     * @param freed    preallocated tables freed unused
     */
    public record Outcome(KmapResult result, long counted, long consumed, long freed) {}

    private final KernelMappings km;
    private boolean flush = true;

    public LinearMapSplit(KernelMappings km) {
        this.km = km;
    }

    /** Negative control: leave out the final TLB flush (the parked CPUs then resume with stale entries). */
    public LinearMapSplit omitFlush() {
        flush = false;
        return this;
    }

    /** Whether the split is needed: blocks in use and the system lacks BBML2_NOABORT. */
    public boolean needed() {
        return km.linearMapRequiresBbml2() && !km.cpus.systemSupportsBbml2NoAbort();
    }

    /** Runs the split (only if {@link #needed}, unless {@code force}). */
    public Outcome run(Mode mode, boolean force) {
        if (!force && !needed()) {
            return new Outcome(KmapResult.OK, 0, 0, 0);
        }
        long lstart = km.layout.pageOffset();
        long lend = km.layout.linearVa(km.ramEnd());
        long before = km.splitter.tablesUsed();
        if (mode == Mode.GFP_ATOMIC) {
            PgtableAllocFn atomic = TableAllocators.initMmGfp(km.pt, Gfp.ATOMIC.zeroed());
            KmapResult r = StopMachine.run(km.cpus, km.tracker, () -> splitAndFlush(lstart, lend, atomic));
            return new Outcome(r, 0, km.splitter.tablesUsed() - before, 0);
        }
        long count = km.splitter.countTablesToSplit(lstart, lend);
        SplitPool pool = new SplitPool(km.pt);
        KmapResult pre = pool.prealloc(count);
        if (!pre.ok()) {
            return new Outcome(pre, count, 0, 0);
        }
        KmapResult r = StopMachine.run(km.cpus, km.tracker, () -> splitAndFlush(lstart, lend, pool));
        long used = pool.used();
        long freed = pool.count() - used;
        pool.freeLeftovers();
        return new Outcome(r, count, used, freed);
    }

    private KmapResult splitAndFlush(long lstart, long lend, PgtableAllocFn alloc) {
        KmapResult r = km.splitter.rangeSplitToPtes(lstart, lend, alloc);
        if (!r.ok()) {
            // Linux panics ("Failed to split linear map"); the translations are intact either way.
            km.pt.log().record("split-failed", "linear map split failed inside stop_machine: " + r);
        }
        if (flush) {
            km.tracker.flushKernelRange(lstart, lend);
        }
        km.linearMapSplitToPtes = r.ok();
        return r;
    }
}
