package ptlab.stress;

import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Expect;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.II_Result;
import ptlab.arch.Level;
import ptlab.cpu.SimCpu;
import ptlab.cpu.ViolationLog;
import ptlab.pgtable.Installer;
import ptlab.pgtable.KernelConfig;
import ptlab.pgtable.Mm;
import ptlab.pgtable.MmKind;
import ptlab.pgtable.PageTables;
import ptlab.pgtable.PteMapping;
import ptlab.phys.PageDesc;

/**
 * pmd_install publishes a PTE table after its ctor (smp_wmb): a lockless pte_offset_map that
 * finds the table sees it constructed (PageTable type, ptlock) and zeroed. r1: 0 no table yet,
 * 1 table seen constructed; r2: 1 if a word was non-zero. Forbidden: a table seen unconstructed.
 */
@JCStressTest
@Outcome(id = {"0, 0", "1, 0"}, expect = Expect.ACCEPTABLE, desc = "no table yet, or a constructed zeroed table")
@Outcome(expect = Expect.FORBIDDEN, desc = "a table reachable before its ctor or zeroing")
@State
public class TablePublishedAfterCtor {
    private static final long VA = 0x10_0000_0000L;
    private final PageTables pt = new PageTables(KernelConfig.defaults().withRam(64L << 20), new ViolationLog(false));
    private final Mm mm = pt.newMm("jcstress", MmKind.USER);
    private final Installer in = new Installer(pt);
    private final PageDesc pmdTable = in.walkAlloc(mm, VA, Level.PMD, null);
    private final int idx = pt.geometry().index(Level.PMD, VA);
    private final SimCpu cpu1 = new SimCpu(1);
    private final SimCpu cpu2 = new SimCpu(2);

    @Actor
    public void installer() {
        cpu1.bindCurrentThread();
        in.install(mm, pmdTable, idx, Level.PMD, Level.PTE, null);
    }

    @Actor
    public void reader(II_Result r) {
        cpu2.bindCurrentThread();
        PteMapping m = pt.pteMaps().map(mm, pmdTable, idx);
        if (m instanceof PteMapping.Mapped) {
            try (PteMapping.Mapped mp = (PteMapping.Mapped) m) {
                PageDesc t = mp.table();
                r.r1 = t.pageTable && t.ptl != null ? 1 : 2;
                r.r2 = mp.read(7) != 0 ? 1 : 0;
            }
        }
    }
}
