package ptlab.cli;

import picocli.CommandLine.Option;
import ptlab.arch.Architectures;
import ptlab.pgtable.KernelConfig;
import ptlab.pgtable.ThpMode;

/** Options that change the modelled kernel; shared by the commands that build one. */
final class KernelOptions {
    @Option(names = "--arch", description = "Architecture (default: ${DEFAULT-VALUE}); see 'ptlab arch'.", defaultValue = Architectures.DEFAULT)
    String arch;

    @Option(names = "--thp", description = "THP mode: always, madvise, never (default: ${DEFAULT-VALUE}).", defaultValue = "madvise")
    String thp;

    @Option(names = "--no-pt-reclaim", description = "Model a kernel without CONFIG_PT_RECLAIM.")
    boolean noPtReclaim;

    KernelConfig config() {
        return KernelConfig.defaults().withArch(Architectures.byName(arch)).withThp(ThpMode.parse(thp)).withPtReclaim(!noPtReclaim);
    }
}
