package ptlab.sim;

import java.util.Arrays;
import java.util.stream.Collectors;
import ptlab.PtlabException;

/**
 * Known page-table lifecycle bugs a simulation can run with ({@code ptlab simulate|check --bug
 * NAME}): each one is the negative control of a rule the checker, the audits or the memory
 * model enforce, and most are the bug class of one of the kernel discussions the project comes
 * from. An mm developer or a teacher runs a scenario with one to see what the tools report
 * (docs/experiments.md lists which scenario steps each one needs). A dropped {@code pmd_same}
 * recheck is not among them: it needs a fault racing a PT reclaim, which the scenario language
 * cannot express ({@code parallel} runs one operation); RcuStressTest is its control.
 */
public enum Bug {
    /** {@code pte_free_defer} and {@code tlb_remove_table} free at once: lockless walkers read freed tables. */
    NO_RCU_FREE("no-rcu-free", "pte_free_defer and tlb_remove_table free tables at once, without an RCU grace period"),
    /** hot-add populates init_mm without {@code arch_sync_kernel_mappings}: user PGDs miss the new kernel entries. */
    NO_KERNEL_SYNC("no-kernel-sync", "hotadd populates init_mm without arch_sync_kernel_mappings"),
    /** {@code split-linear} leaves out its final kernel TLB flush: CPUs keep entries of the old blocks. */
    NO_SPLIT_FLUSH("no-split-flush", "split-linear leaves out its final flush of the kernel TLB range"),
    /** Every TLB shootdown of an operation is dropped: the stale-TLB audit's negative control. */
    NO_TLB_FLUSH("no-tlb-flush", "the TLB shootdowns of mm operations are dropped");

    private final String cliName;
    private final String description;

    Bug(String cliName, String description) {
        this.cliName = cliName;
        this.description = description;
    }

    /** The name {@code --bug} takes. */
    public String cliName() {
        return cliName;
    }

    /** One line: what the bug does. */
    public String description() {
        return description;
    }

    /**
     * The bug named {@code name}.
     *
     * @throws PtlabException naming the known ones if there is none
     */
    public static Bug byName(String name) {
        for (Bug b : values()) {
            if (b.cliName.equals(name)) {
                return b;
            }
        }
        throw new PtlabException("unknown bug '" + name + "' (known: "
                + Arrays.stream(values()).map(Bug::cliName).collect(Collectors.joining(", ")) + ")");
    }
}
