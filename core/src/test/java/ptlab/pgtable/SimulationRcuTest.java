package ptlab.pgtable;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.StringReader;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import ptlab.cpu.Violation;
import ptlab.sim.Bug;
import ptlab.sim.ScenarioParser;
import ptlab.sim.SimReport;
import ptlab.sim.Simulation;

/**
 * The scenario tools catch a PTE table freed without an RCU grace period (the seeds' lifecycle
 * of pte_free_defer / tlb_remove_table): the lockless walkers of {@code walkers N} hold a table
 * inside a read section long enough for a free under them to be seen as a use-after-free. In
 * package ptlab.pgtable for the negative control's switch (PageTables.rcuDeferral).
 */
class SimulationRcuTest {
    /** Touch and MADV_DONTNEED (PT reclaim frees the emptied PTE tables) under 8 walkers, {@code rounds} times. */
    private static List<ptlab.sim.Step> reclaimUnderWalkers(int rounds) throws IOException {
        StringBuilder b = new StringBuilder("process p\nmmap 0x100000000 8M rw nothp\nwalkers 8\n");
        for (int i = 0; i < rounds; i++) {
            b.append("touch 0x100000000 8M write\nmadvise 0x100000000 8M dontneed\n");
        }
        return ScenarioParser.parse("reclaim.scenario", new StringReader(b.toString()));
    }

    @Test
    void withRcuDeferralTheWalkersSeeNoFreedTable() throws IOException {
        SimReport r = new Simulation(KernelConfig.defaults().withRam(1L << 30), 2, 1, 0).run(reclaimUnderWalkers(100), i -> { });
        assertThat(r.violations()).isEmpty();
    }

    @Test
    void withoutRcuDeferralAWalkerReadsAFreedTable() throws IOException {
        List<Violation> found = List.of();
        for (int round = 0; round < 5 && found.isEmpty(); round++) {
            Simulation sim = new Simulation(KernelConfig.defaults().withRam(1L << 30), 2, round, 0).withBugs(Set.of(Bug.NO_RCU_FREE));
            assertThat(sim.kernel().pageTables().rcuDeferral).as("the bug: tables freed at once").isFalse();
            found = sim.run(reclaimUnderWalkers(100), i -> { }).violations();
        }
        assertThat(found).extracting(Violation::kind).contains("use-after-free");
        // The report names the reader and the free: the site, the table, its mm, the freeing CPU.
        assertThat(found).filteredOn(v -> v.kind().equals("use-after-free")).first().extracting(Violation::detail).asString()
                .containsPattern("on cpu\\S* read word \\d+ of freed table pfn 0x\\p{XDigit}+( \\(freed and reused since it was mapped\\))?, freed by pte_free_defer of PTE table of p on cpu");
    }
}
