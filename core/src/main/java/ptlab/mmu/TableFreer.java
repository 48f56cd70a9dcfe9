package ptlab.mmu;

import java.util.List;
import ptlab.phys.PageDesc;

/**
 * Where an {@link TlbGather} hands page tables once they are unhooked and every TLB has been
 * invalidated ({@code tlb_remove_table}'s back end). The default frees at once
 * ({@code PageTables.freeTable}); an RCU freer defers the free by a grace period so lockless
 * walkers (GUP-fast, pte_offset_map) that still hold a pointer are safe.
 */
@FunctionalInterface
public interface TableFreer {
    /** Frees (or schedules the free of) tables that no CPU and no TLB can reach any more. */
    void free(List<PageDesc> tables);
}
