package ptlab.range;

import ptlab.pgtable.Mm;

/**
 * A TLB invalidation a range operation asked for ({@code flush_tlb_range} /
 * {@code flush_tlb_kernel_range}), recorded before any table unhooked in the same operation
 * is freed.
 *
 * @param mm          the address space
 * @param start       first byte
 * @param end         end (exclusive)
 * @param tablesFreed page-table pages unhooked under this flush and freed after it
 */
public record FlushRequest(Mm mm, long start, long end, int tablesFreed) {}
