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
import ptlab.cpu.ViolationLog;
import ptlab.pgtable.Installer;
import ptlab.pgtable.KernelConfig;
import ptlab.pgtable.Mm;
import ptlab.pgtable.MmKind;
import ptlab.pgtable.PageTables;
import ptlab.pgtable.PteMapping;
import ptlab.pgtable.Retraction;
import ptlab.phys.PageDesc;

/**
 * A lockless reader ({@code pte_offset_map}, no lock, as GUP-fast or a pagemap read) against a
 * retraction that detaches the PTE table and frees it through RCU, then waits a grace period
 * so the free really races the reader. The reader may map the table before or after it is
 * detached: both are fine, because the RCU read section keeps it alive until {@code pte_unmap}.
 * r1: 1 mapped and read the (none) PTE, 3 read something else (poison: freed memory), 2 no
 * table; r2: use-after-free reports (forbidden unless 0); r3: 1 if the retraction happened.
 */
@JCStressTest
@Outcome(id = {"1, 0, 1", "2, 0, 1"}, expect = Expect.ACCEPTABLE, desc = "read the table (attached or just detached), or found none")
@Outcome(expect = Expect.FORBIDDEN, desc = "read freed memory, or read a torn or zeroed entry from a live mapping")
@State
public class LocklessReaderVsRetract {
    private static final long VA = 0x10_0000_0000L;
    private final PageTables pt = new PageTables(KernelConfig.defaults().withRam(64L << 20), new ViolationLog(false));
    private final Mm mm = pt.newMm("jcstress", MmKind.USER);
    private final PageDesc pmdTable;
    private final int idx;
    private final long pte;
    private final SimCpu cpu1 = new SimCpu(1);
    private final SimCpu cpu2 = new SimCpu(2);
    private int retracted;

    public LocklessReaderVsRetract() {
        Installer in = new Installer(pt);
        pmdTable = in.walkAlloc(mm, VA, Level.PMD, null);
        idx = pt.geometry().index(Level.PMD, VA);
        in.install(mm, pmdTable, idx, Level.PMD, Level.PTE, null);
        pte = 0L; // the table is empty, as retract_page_tables finds it after collapse_file unmapped the pages
    }

    @Actor
    public void reader(III_Result r) {
        cpu1.bindCurrentThread();
        PteMapping m = pt.pteMaps().map(mm, pmdTable, idx);
        if (m instanceof PteMapping.Mapped) {
            try (PteMapping.Mapped mp = (PteMapping.Mapped) m) {
                r.r1 = mp.read(7) == pte ? 1 : 3;
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
