package ptlab.pgtable;

import ptlab.arch.Architecture;
import ptlab.arch.Architectures;
import ptlab.arch.Level;

/**
 * The kernel configuration ptlab models. Defaults are this machine's kernel: x86-64 4-level,
 * split PTE and PMD ptlocks, embedded (not dynamic) ptlocks, no PREEMPT_RT, THP {@code madvise},
 * {@code CONFIG_PT_RECLAIM=y}.
 *
 * @param arch               paging configuration
 * @param splitPtePtlocks    {@code CONFIG_SPLIT_PTE_PTLOCKS}
 * @param splitPmdPtlocks    {@code CONFIG_SPLIT_PMD_PTLOCKS} (only with split PTE locks and an unfolded PMD)
 * @param dynamicPtlocks     {@code ALLOC_SPLIT_PTLOCKS}: ptlocks come from a kmem_cache (lock debugging, RT, 32-bit)
 * @param preemptRt          {@code CONFIG_PREEMPT_RT}
 * @param thp                THP mode
 * @param ptReclaim          {@code CONFIG_PT_RECLAIM}
 * @param ramBytes           simulated RAM
 * @param pre616Ctors        constructor rules before Linux 6.16 (seed 000): kernel PTE tables get no ctor,
 *                           and the PMD ctor initialises a ptlock even for init_mm
 * @param vm                 the user-memory sysctls and CPU features that decide whether a call fails
 */
public record KernelConfig(
        Architecture arch,
        boolean splitPtePtlocks,
        boolean splitPmdPtlocks,
        boolean dynamicPtlocks,
        boolean preemptRt,
        ThpMode thp,
        boolean ptReclaim,
        long ramBytes,
        boolean pre616Ctors,
        VmSettings vm) {

    public static final long DEFAULT_RAM = 64L << 30;

    public KernelConfig {
        java.util.Objects.requireNonNull(arch, "KernelConfig: arch is null");
        java.util.Objects.requireNonNull(thp, "KernelConfig: thp mode is null");
        java.util.Objects.requireNonNull(vm, "KernelConfig: vm settings are null");
    }

    public static KernelConfig defaults() {
        return new KernelConfig(Architectures.defaultArch(), true, true, false, false, ThpMode.MADVISE, true, DEFAULT_RAM, false, VmSettings.DEFAULTS);
    }

    public static KernelConfig of(Architecture arch) {
        return defaults().withArch(arch);
    }

    public KernelConfig withArch(Architecture a) {
        return new KernelConfig(a, splitPtePtlocks, splitPmdPtlocks, dynamicPtlocks, preemptRt, thp, ptReclaim, ramBytes, pre616Ctors, vm);
    }

    public KernelConfig withPtlocks(boolean splitPte, boolean splitPmd, boolean dynamic) {
        return new KernelConfig(arch, splitPte, splitPmd, dynamic, preemptRt, thp, ptReclaim, ramBytes, pre616Ctors, vm);
    }

    public KernelConfig withPreemptRt(boolean rt) {
        return new KernelConfig(arch, splitPtePtlocks, splitPmdPtlocks, rt || dynamicPtlocks, rt, thp, ptReclaim, ramBytes, pre616Ctors, vm);
    }

    public KernelConfig withThp(ThpMode mode) {
        return new KernelConfig(arch, splitPtePtlocks, splitPmdPtlocks, dynamicPtlocks, preemptRt, mode, ptReclaim, ramBytes, pre616Ctors, vm);
    }

    public KernelConfig withPtReclaim(boolean on) {
        return new KernelConfig(arch, splitPtePtlocks, splitPmdPtlocks, dynamicPtlocks, preemptRt, thp, on, ramBytes, pre616Ctors, vm);
    }

    public KernelConfig withRam(long bytes) {
        return new KernelConfig(arch, splitPtePtlocks, splitPmdPtlocks, dynamicPtlocks, preemptRt, thp, ptReclaim, bytes, pre616Ctors, vm);
    }

    public KernelConfig withPre616Ctors(boolean on) {
        return new KernelConfig(arch, splitPtePtlocks, splitPmdPtlocks, dynamicPtlocks, preemptRt, thp, ptReclaim, ramBytes, on, vm);
    }

    public KernelConfig withVm(VmSettings settings) {
        return new KernelConfig(arch, splitPtePtlocks, splitPmdPtlocks, dynamicPtlocks, preemptRt, thp, ptReclaim, ramBytes, pre616Ctors, settings);
    }

    /** Whether PMD tables carry their own ptlock: split PMD locks configured and the PMD level exists. */
    public boolean pmdTablesHavePtlock() {
        return splitPtePtlocks && splitPmdPtlocks && !arch.geometry().isFolded(Level.PMD);
    }
}
