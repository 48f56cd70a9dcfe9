package ptlab.snapshot;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Snapshots of real processes on this machine: the test JVM itself and C helpers it starts.
 * ptlab's rebuilt tables must equal the recorded VmPTE, or exceed it only by tables the
 * report explains (tables with no present or swapped page).
 */
class LiveSnapshotTest {
    @TempDir
    Path tmp;

    private static void assumeProcfs() {
        Assumptions.assumeTrue(java.nio.file.Files.isReadable(Path.of("/proc/self/pagemap")), "no /proc/self/pagemap");
    }

    @Test
    void sparseTouchesAcrossManyGigabytesMatchVmPte() throws Exception {
        assumeProcfs();
        Path bin = Helpers.compile(tmp, "sparse");
        try (Helpers.Child c = new Helpers.Child(bin.toString(), "6", "1024", "0")) {
            Analysis a = Helpers.captureAndAnalyze(Long.toString(c.pid()), tmp.resolve("cap"));
            assertThat(a.rebuilt().present()).isGreaterThanOrEqualTo(6144);
            assertThat(a.levels().get(3).tables()).as("PTE tables: one per touched 2 MiB").isGreaterThanOrEqualTo(3072);
            assertThat(a.verdict()).as(TextReport.verdictLine(a)).isEqualTo(Analysis.Verdict.MATCH);
            assertThat(a.pgtablesBytes() >> 10).isEqualTo(a.rebuilt().snapshot().status().vmPteKb());
        }
    }

    @Test
    void anEmptiedTableIsExplainedNotMatched() throws Exception {
        assumeProcfs();
        Path bin = Helpers.compile(tmp, "sparse");
        try (Helpers.Child c = new Helpers.Child(bin.toString(), "1", "4096", "1")) {
            Analysis a = Helpers.captureAndAnalyze(Long.toString(c.pid()), tmp.resolve("cap"));
            long diff = (a.rebuilt().snapshot().status().vmPteKb() << 10) - a.pgtablesBytes();
            // Negative control: the helper left one PTE table with no page; the snapshot cannot show it.
            // At least that one: the process's own start-up can leave another emptied table
            // (seen once in a full run here: 8192, then 4096 on six reruns).
            assertThat(diff).as(TextReport.verdictLine(a)).isGreaterThanOrEqualTo(4096);
            assertThat(diff % 4096).as("whole tables").isZero();
            assertThat(a.verdict()).isEqualTo(Analysis.Verdict.EXPLAINED);
            assertThat(TextReport.verdictLine(a)).contains("no present or swapped page");
        }
    }

    @Test
    void madviseHugepageThpsHaveDepositsAndMatchVmPte() throws Exception {
        assumeProcfs();
        Path bin = Helpers.compile(tmp, "thp");
        try (Helpers.Child c = new Helpers.Child(bin.toString(), "32")) {
            Analysis a = Helpers.captureAndAnalyze(Long.toString(c.pid()), tmp.resolve("cap"));
            long anonHuge = Helpers.smapsKb(a.rebuilt().snapshot(), "AnonHugePages");
            Assumptions.assumeTrue(anonHuge > 0, "the kernel gave no THP (THP disabled or no huge pages free)");
            assertThat(a.rebuilt().thps()).isEqualTo(anonHuge / 2048);
            assertThat(a.levels().get(3).deposited()).isEqualTo(anonHuge / 2048);
            assertThat(a.verdict()).as(TextReport.verdictLine(a)).isEqualTo(Analysis.Verdict.MATCH);
        }
    }

    @Test
    void theTestJvmItselfMatchesOrIsExplained() {
        assumeProcfs();
        // The JVM keeps running threads (JIT, GC) while it is captured: retry a racy capture a few times.
        Analysis a = null;
        for (int i = 0; i < 5; i++) {
            a = Helpers.captureAndAnalyze("self", tmp.resolve("self" + i));
            if (a.verdict() != Analysis.Verdict.UNEXPLAINED) {
                break;
            }
        }
        assertThat(a.verdict()).as(TextReport.verdictLine(a)).isNotEqualTo(Analysis.Verdict.UNEXPLAINED);
        assertThat(a.rebuilt().present()).isGreaterThan(1000);
    }
}
