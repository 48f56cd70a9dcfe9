package ptlab.pgtable;

/**
 * The settings of the machine, outside the page tables, that decide whether a user call fails:
 * two sysctls and one CPU feature. Defaults are this machine's (the kernel oracle's).
 *
 * @param mmapMinAddr   {@code vm.mmap_min_addr}: a fixed mapping below it fails with EPERM (the
 *                      process is modelled without CAP_SYS_RAWIO; the kernel lets root map lower)
 * @param maxMapCount   {@code vm.max_map_count}: a call that would make the mm hold more VMAs fails
 *                      with ENOMEM ({@code DEFAULT_MAX_MAP_COUNT} is 65530)
 * @param x86Pku        x86 protection keys ({@code X86_FEATURE_OSPKE}): an execute-only mapping
 *                      ({@code PROT_EXEC} alone) gets the execute-only pkey, so a data read of it
 *                      faults ({@code execute_only_pkey}); without PKU, x86 can read what it can
 *                      execute. Only x86 architectures consult it.
 * @param commitLimitBytes the overcommit guess's limit, {@code totalram_pages() + total_swap_pages}
 *                      in bytes: one charge above it fails; 0 means the simulated RAM (no swap)
 */
public record VmSettings(long mmapMinAddr, int maxMapCount, boolean x86Pku, long commitLimitBytes) {
    /** This machine: {@code vm.mmap_min_addr = 4096} (the kernel's Kconfig default), 65530, a CPU with pku and ospke. */
    public static final VmSettings DEFAULTS = new VmSettings(4096, 65530, true, 0);

    public VmSettings(long mmapMinAddr, int maxMapCount, boolean x86Pku) {
        this(mmapMinAddr, maxMapCount, x86Pku, 0);
    }

    public VmSettings {
        if (mmapMinAddr < 0) {
            throw new ptlab.PtlabException("vm.mmap_min_addr must not be negative: " + mmapMinAddr);
        }
        if (maxMapCount < 1) {
            throw new ptlab.PtlabException("vm.max_map_count must be positive: " + maxMapCount);
        }
        if (commitLimitBytes < 0) {
            throw new ptlab.PtlabException("commit limit must not be negative: " + commitLimitBytes);
        }
    }

    public VmSettings withMmapMinAddr(long a) {
        return new VmSettings(a, maxMapCount, x86Pku, commitLimitBytes);
    }

    public VmSettings withMaxMapCount(int n) {
        return new VmSettings(mmapMinAddr, n, x86Pku, commitLimitBytes);
    }

    public VmSettings withX86Pku(boolean on) {
        return new VmSettings(mmapMinAddr, maxMapCount, on, commitLimitBytes);
    }

    public VmSettings withCommitLimitBytes(long bytes) {
        return new VmSettings(mmapMinAddr, maxMapCount, x86Pku, bytes);
    }
}
