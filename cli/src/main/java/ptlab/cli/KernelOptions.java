package ptlab.cli;

import picocli.CommandLine.Option;
import ptlab.PtlabException;
import ptlab.arch.Architecture;
import ptlab.arch.Architectures;
import ptlab.pgtable.HostMachine;
import ptlab.pgtable.KernelConfig;
import ptlab.pgtable.ThpMode;
import ptlab.pgtable.VmSettings;

/** Options that change the modelled kernel; shared by the commands that build one. */
final class KernelOptions {
    @Option(names = "--arch", description = "Architecture (default: ${DEFAULT-VALUE}); see 'ptlab arch'.", defaultValue = Architectures.DEFAULT)
    String arch;

    @Option(names = "--thp", description = "THP mode: always, madvise, never (default: ${DEFAULT-VALUE}).", defaultValue = "madvise")
    String thp;

    @Option(names = "--no-pt-reclaim", description = "Model a kernel without CONFIG_PT_RECLAIM.")
    boolean noPtReclaim;

    @Option(names = "--ram", paramLabel = "SIZE", description = "Simulated RAM, or 'host' for this machine's MemTotal, as the kernel "
            + "driver sees it: a mapping larger than RAM fails (default: ${DEFAULT-VALUE}).", defaultValue = "host")
    String ram;

    @Option(names = "--mmap-min-addr", paramLabel = "N", description = "vm.mmap_min_addr (default: this machine's).")
    Long mmapMinAddr;

    @Option(names = "--max-map-count", paramLabel = "N", description = "vm.max_map_count (default: this machine's).")
    Integer maxMapCount;

    @Option(names = "--no-pku", description = "Model an x86 CPU without protection keys: execute-only mappings are readable "
            + "(default: as this machine's CPU).")
    boolean noPku;

    KernelConfig config() {
        VmSettings vm = HostMachine.vm();
        if (mmapMinAddr != null) {
            if (mmapMinAddr < 0) {
                throw new PtlabException("--mmap-min-addr must not be negative: " + mmapMinAddr);
            }
            vm = vm.withMmapMinAddr(mmapMinAddr);
        }
        if (maxMapCount != null) {
            if (maxMapCount < 1) {
                throw new PtlabException("--max-map-count must be positive: " + maxMapCount);
            }
            vm = vm.withMaxMapCount(maxMapCount);
        }
        if (noPku) {
            vm = vm.withX86Pku(false);
        }
        Architecture a = Architectures.byName(arch);
        long ramBytes;
        if (ram.equals("host")) {
            ramBytes = HostMachine.ramBytes(RamOption.largestBlock(a), KernelConfig.DEFAULT_RAM);
        } else {
            ramBytes = RamOption.parseFor("--ram", ram, a);
            vm = vm.withCommitLimitBytes(0); // the overcommit limit follows the RAM given, not this machine's
        }
        return KernelConfig.defaults().withArch(a).withThp(ThpMode.parse(thp)).withPtReclaim(!noPtReclaim).withRam(ramBytes).withVm(vm);
    }
}
