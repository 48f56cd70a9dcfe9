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
public class LocklessReaderVsRetract extends RetractRace {
    @Actor
    public void reader(III_Result r) {
        cpu1.bindCurrentThread();
        PteMapping m = pt.pteMaps().map(mm, pmdTable, idx);
        if (m instanceof PteMapping.Mapped) {
            try (PteMapping.Mapped mp = (PteMapping.Mapped) m) {
                r.r1 = mp.read(7) == 0L ? 1 : 3;
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
