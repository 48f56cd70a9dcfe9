package ptlab.events;

import jdk.jfr.Category;
import jdk.jfr.Label;
import jdk.jfr.Name;

/** {@code arch_sync_kernel_mappings}: kernel top-level entries copied into the PGDs on pgd_list. */
@Name("ptlab.KernelSync")
@Label("Kernel-half sync")
@Category({"ptlab", "Page tables"})
final class SyncEvent extends jdk.jfr.Event {
    @Label("Start")
    long start;
    @Label("End")
    long end;
    @Label("Entries copied")
    long copies;
}
