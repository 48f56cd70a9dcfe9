package ptlab.mmu;

/**
 * One TLB invalidation, as posted to every CPU. {@code asid} names the address space
 * ({@link #ANY_ASID} with {@link Kind#ALL} and {@link Kind#KERNEL_RANGE}); the range is
 * {@code [start, end)} for the range kinds.
 */
public record FlushRequest(Kind kind, int asid, long start, long end) {
    public static final int ANY_ASID = -1;
    /**
     * No CPU waits on it: the {@link Kind#ALL} an ASID rollover posts (every CPU drops
     * everything before its next translation or switch_mm; none runs a retired ASID).
     */
    public static final int NO_WAIT = -2;

    public enum Kind {
        /** {@code flush_tlb_range}/{@code flush_tlb_page}: non-global entries of one ASID in the range. */
        RANGE,
        /** {@code flush_tlb_mm}: every non-global entry of one ASID. */
        MM,
        /** {@code flush_tlb_kernel_range}: every entry in the range, global ones included, any ASID. */
        KERNEL_RANGE,
        /** {@code flush_tlb_all}: everything. */
        ALL
    }
}
