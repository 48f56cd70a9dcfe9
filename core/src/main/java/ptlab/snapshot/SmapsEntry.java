package ptlab.snapshot;

import java.util.Map;
import java.util.Set;

/**
 * One VMA block of {@code /proc/PID/smaps}: its header (a maps line), the {@code Key: N kB}
 * counters and the {@code VmFlags} mnemonics ({@code show_smap_vma_flags}).
 */
public record SmapsEntry(MapsEntry header, Map<String, Long> kb, Set<String> vmFlags) {

    /** A counter in kB; 0 when the kernel did not print it. */
    public long kb(String key) {
        Long v = kb.get(key);
        return v == null ? 0 : v;
    }

    /** {@code KernelPageSize} in bytes (4096 unless hugetlb). */
    public long kernelPageBytes() {
        long k = kb("KernelPageSize");
        return k == 0 ? 4096 : k << 10;
    }

    /** VM_HUGETLB ({@code ht}). */
    public boolean hugetlb() {
        return vmFlags.contains("ht");
    }

    /** VM_PFNMAP ({@code pf}): pagemap skips such VMAs, so their pages never show. */
    public boolean pfnmap() {
        return vmFlags.contains("pf");
    }
}
