package ptlab.stress;

import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Arbiter;
import org.openjdk.jcstress.annotations.Expect;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.III_Result;
import ptlab.arch.Level;
import ptlab.cpu.SimCpu;
import ptlab.pgtable.Installer;
import ptlab.pgtable.KernelConfig;
import ptlab.pgtable.Mm;
import ptlab.pgtable.MmKind;
import ptlab.pgtable.PageTables;
import ptlab.pgtable.PteMapping;
import ptlab.pgtable.Retraction;
import ptlab.cpu.ViolationLog;
import ptlab.phys.PageDesc;

/**
 * pte_offset_map_lock against a concurrent retraction (pml + ptl, clear, pte_free_defer, then
 * synchronize_rcu so the free really races the mapper). r1: 1 mapped-and-still-linked, 2 no
 * table, 3 mapped a detached table (forbidden: the pmd_same recheck exists to prevent it).
 * r2: use-after-free reports (forbidden unless 0). r3: 1 if the retraction happened.
 */
@JCStressTest
@Outcome(id = {"1, 0, 1", "2, 0, 1"}, expect = Expect.ACCEPTABLE, desc = "mapped before, or saw no table after, the retraction")
@Outcome(expect = Expect.FORBIDDEN, desc = "a detached or freed table was used")
@State
public class PteMapLockVsRetract {
    private static final long VA = 0x10_0000_0000L;
    private final PageTables pt = new PageTables(KernelConfig.defaults().withRam(64L << 20), new ViolationLog(false));
    private final Mm mm = pt.newMm("jcstress", MmKind.USER);
    private final PageDesc pmdTable;
    private final int idx;
    private final SimCpu cpu1 = new SimCpu(1);
    private final SimCpu cpu2 = new SimCpu(2);
    private int retracted;

    public PteMapLockVsRetract() {
        Installer in = new Installer(pt);
        pmdTable = in.walkAlloc(mm, VA, Level.PMD, null);
        idx = pt.geometry().index(Level.PMD, VA);
        in.install(mm, pmdTable, idx, Level.PMD, Level.PTE, null);
    }

    @Actor
    public void mapper(III_Result r) {
        cpu1.bindCurrentThread();
        PteMapping m = pt.pteMaps().mapLock(mm, pmdTable, idx);
        if (m instanceof PteMapping.Mapped) {
            try (PteMapping.Mapped mp = (PteMapping.Mapped) m) {
                mp.read(0);
                r.r1 = mp.pmdSameNow() ? 1 : 3;
            }
        } else {
            r.r1 = 2;
        }
    }

    @Actor
    public void retractor() {
        cpu2.bindCurrentThread();
        if (new Retraction(pt).retract(mm, pmdTable, idx, null, true, () -> { }) == Retraction.Result.RETRACTED) {
            retracted = 1;
        }
        pt.rcu().synchronizeRcu();
    }

    @Arbiter
    public void arbiter(III_Result r) {
        pt.rcuBarrier();
        r.r2 = (int) pt.log().snapshot().stream().filter(v -> v.kind().equals("use-after-free")).count();
        r.r3 = retracted;
    }
}
