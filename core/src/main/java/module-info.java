/**
 * ptlab core: the Linux page-table subsystem in simulated physical memory. Only API packages
 * are exported; the rest is implementation.
 */
module ptlab.core {
    requires jdk.jfr;

    exports ptlab;
    exports ptlab.arch;
    exports ptlab.cpu;
    exports ptlab.phys;
    exports ptlab.pgtable;
    exports ptlab.walk;
    exports ptlab.range;
    exports ptlab.kmap;
    exports ptlab.rcu;
    exports ptlab.mmu;
    exports ptlab.snapshot;
    exports ptlab.mm;
    exports ptlab.check;
    exports ptlab.trace;
    exports ptlab.sim;
    exports ptlab.events;
    exports ptlab.report;
}
