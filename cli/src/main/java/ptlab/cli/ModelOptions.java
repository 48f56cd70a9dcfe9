package ptlab.cli;

import picocli.CommandLine.Option;
import ptlab.pgtable.KernelConfig;
import ptlab.sim.Bug;

/**
 * The kernel-configuration switches of {@link KernelConfig} that change the page-table
 * lifecycle rules, for the commands that run scenarios ({@code simulate}, {@code check}): an mm
 * developer trying a change against another rule set (a PREEMPT_RT allocation inside
 * stop_machine, the constructor rules before Linux 6.16, ptlocks from a kmem_cache) picks it
 * here instead of editing the code that builds the machine.
 */
final class ModelOptions {
    @Option(names = "--preempt-rt", description = "Model CONFIG_PREEMPT_RT: any page allocation inside stop_machine is a "
            + "might-sleep violation, even GFP_ATOMIC (implies --dynamic-ptlocks).")
    boolean preemptRt;

    @Option(names = "--pre-6.16-ctors", description = "The constructor rules before Linux 6.16: kernel PTE tables get no ctor, "
            + "and the PMD ctor initialises a ptlock even for init_mm.")
    boolean pre616Ctors;

    @Option(names = "--dynamic-ptlocks", description = "ALLOC_SPLIT_PTLOCKS: split ptlocks come from a kmem_cache (the ctor can "
            + "fail), as with lock debugging, PREEMPT_RT or 32-bit.")
    boolean dynamicPtlocks;

    @Option(names = "--bug", paramLabel = "NAME", description = "Run with a known lifecycle bug, to see what the checker reports "
            + "(repeatable): no-rcu-free, no-kernel-sync, no-split-flush, no-tlb-flush. docs/experiments.md says which "
            + "scenario steps each one needs.")
    java.util.List<String> bugNames = new java.util.ArrayList<>();

    /** The bugs given with {@code --bug}. */
    java.util.Set<Bug> bugs() {
        java.util.Set<Bug> out = java.util.EnumSet.noneOf(Bug.class);
        for (String n : bugNames) {
            out.add(Bug.byName(n));
        }
        return out;
    }

    /** {@code base} with the switches given. */
    KernelConfig apply(KernelConfig base) {
        KernelConfig c = base;
        if (dynamicPtlocks) {
            c = c.withPtlocks(c.splitPtePtlocks(), c.splitPmdPtlocks(), true);
        }
        if (preemptRt) {
            c = c.withPreemptRt(true);
        }
        if (pre616Ctors) {
            c = c.withPre616Ctors(true);
        }
        return c;
    }
}
