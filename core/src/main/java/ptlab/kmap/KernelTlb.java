package ptlab.kmap;

/**
 * What kernel-mapping code asks of the TLB layer: {@code flush_tlb_kernel_range(start, end)}
 * (a broadcast TLBI on arm64, an IPI shootdown on x86). The software MMU implements it for
 * real; {@link BbmTracker} records and checks it.
 */
public interface KernelTlb {
    void flushKernelRange(long start, long end);
}
