package ptlab.stress;

import ptlab.arch.Level;
import ptlab.cpu.SimCpu;
import ptlab.cpu.ViolationLog;
import ptlab.pgtable.Installer;
import ptlab.pgtable.KernelConfig;
import ptlab.pgtable.Mm;
import ptlab.pgtable.MmKind;
import ptlab.pgtable.PageTables;
import ptlab.pgtable.Retraction;
import ptlab.phys.PageDesc;

/**
 * The state the retraction races share: one mm with an empty PTE table installed below a PMD
 * entry, a retracting CPU that detaches it and frees it through RCU (then waits a grace period,
 * so the free really races the other actor), and the arbiter's use-after-free count.
 */
abstract class RetractRace {
    static final long VA = 0x10_0000_0000L;
    final PageTables pt = new PageTables(KernelConfig.defaults().withRam(64L << 20), new ViolationLog(false));
    final Mm mm = pt.newMm("jcstress", MmKind.USER);
    final PageDesc pmdTable;
    final int idx;
    final SimCpu cpu1 = new SimCpu(1);
    private final SimCpu cpu2 = new SimCpu(2);
    int retracted;

    RetractRace() {
        Installer in = new Installer(pt);
        pmdTable = in.walkAlloc(mm, VA, Level.PMD, null);
        idx = pt.geometry().index(Level.PMD, VA);
        in.install(mm, pmdTable, idx, Level.PMD, Level.PTE, null);
    }

    /** The retracting actor: pml + ptl, clear, pte_free_defer, then synchronize_rcu. */
    void retract() {
        cpu2.bindCurrentThread();
        if (new Retraction(pt).retract(mm, pmdTable, idx, null, true, () -> { }) == Retraction.Result.RETRACTED) {
            retracted = 1;
        }
        pt.rcu().synchronizeRcu();
    }

    /** After both actors: deferred frees done, then the use-after-free reports counted. */
    int useAfterFreeReports() {
        pt.rcuBarrier();
        return (int) pt.log().snapshot().stream().filter(v -> v.kind().equals("use-after-free")).count();
    }
}
