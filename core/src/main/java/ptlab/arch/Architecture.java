package ptlab.arch;

import java.util.Set;

/**
 * A named paging configuration: geometry, entry format and the address-space facts Linux's
 * page-table code depends on.
 *
 * @param name            CLI name, e.g. {@code x86_64-4l}
 * @param geometry        levels and sizes
 * @param format          bit format
 * @param pgdOrder        buddy order of a PGD allocation (x86 with PTI: 1, i.e. 8 KiB)
 * @param userTop         first address above user space ({@code TASK_SIZE} rounded to the top-level span)
 * @param kernelHalfStart index in the root of the first kernel entry a user PGD clones
 *                        ({@code KERNEL_PGD_BOUNDARY}); -1 where the kernel has its own root (arm64 TTBR1)
 * @param syncMask        levels whose kernel population must be copied to every PGD
 *                        ({@code ARCH_PAGE_TABLE_SYNC_MASK}); empty on arm64
 * @param kernelBase      lowest kernel virtual address (start of the upper half)
 */
public record Architecture(
        String name,
        Geometry geometry,
        PteFormat format,
        int pgdOrder,
        long userTop,
        int kernelHalfStart,
        Set<Level> syncMask,
        long kernelBase) {

    /** Whether user PGDs carry a copy of the kernel half of init_mm's PGD (x86, RISC-V). */
    public boolean sharesKernelHalf() {
        return kernelHalfStart >= 0;
    }

    /** Whether {@code va} is a canonical address of this configuration (user or kernel half). */
    public boolean isCanonical(long va) {
        if (kernelHalfStart < 0) {
            // arm64: TTBR0 covers [0, 2^va), TTBR1 covers [-2^va, 0).
            long span = 1L << geometry.vaBits();
            return Long.compareUnsigned(va, span) < 0 || Long.compareUnsigned(va, -span) >= 0;
        }
        int bits = geometry.vaBits();
        long top = va >> (bits - 1);
        return top == 0 || top == -1;
    }

    /** Whether {@code va} lies in the user half. */
    public boolean isUser(long va) {
        return Long.compareUnsigned(va, userTop) < 0;
    }

    @Override
    public String toString() {
        return name;
    }
}
