package ptlab.stress;

import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Arbiter;
import org.openjdk.jcstress.annotations.Expect;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.III_Result;
import ptlab.pgtable.PteMapping;

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
public class PteMapLockVsRetract extends RetractRace {
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
        retract();
    }

    @Arbiter
    public void arbiter(III_Result r) {
        r.r2 = useAfterFreeReports();
        r.r3 = retracted;
    }
}
