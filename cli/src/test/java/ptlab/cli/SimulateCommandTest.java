package ptlab.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code ptlab simulate} and {@code ptlab check}: the summary, the report, bad scenarios. */
class SimulateCommandTest {
    @TempDir
    Path dir;

    @Test
    void oneArchitecturePrintsTheSummaryAndWritesTheReport() throws Exception {
        Path html = dir.resolve("r.html");
        MainTest.Run r = MainTest.run("simulate", "--arch", "arm64-64k-48", "--ram", "1G", "--quiet", "--report", html.toString());
        assertThat(r.status()).as(r.err()).isZero();
        assertThat(r.out()).contains("arm64-64k-48", "in detail:", "RCU grace periods", "shootdowns").endsWith("violations: 0\n");
        assertThat(Files.readString(html)).startsWith("<!DOCTYPE html>").contains("<svg", "entry occupancy").doesNotContain("<script");
    }

    @Test
    void aBadScenarioIsFileLineReasonAndStatus2() throws Exception {
        Path s = dir.resolve("bad.scenario");
        Files.writeString(s, "boot\nprocess a\nmmap 0x100000000 4M\ntuoch 0x100000000 4M\n");
        MainTest.Run r = MainTest.run("simulate", "--scenario", s.toString());
        assertThat(r.status()).isEqualTo(2);
        assertThat(r.err()).isEqualTo("ptlab: " + s + ":4: unknown step 'tuoch' (boot, split-linear, hotadd, walkers, process, use, fork, "
                + "exit, parallel, check, or a trace operation)\n");
        assertThat(MainTest.run("simulate", "--scenario", dir.resolve("none").toString()).err()).contains("none: no such file");
        assertThat(MainTest.run("simulate", "--ram", "lots").status()).isEqualTo(2);
        assertThat(MainTest.run("simulate", "--arch", "vax").status()).isEqualTo(2);
    }

    @Test
    void checkRunsTheCheckerAfterEveryStep() throws Exception {
        Path s = dir.resolve("small.scenario");
        Files.writeString(s, "process a\nmmap 0x100000000 8M\nparallel 2 touch 0x100000000 8M\nfork b\nexit a\n");
        MainTest.Run r = MainTest.run("check", "--scenario", s.toString(), "--arch", "riscv-sv39");
        assertThat(r.status()).as(r.err()).isZero();
        assertThat(r.out()).contains("riscv-sv39: 5 steps, 6 checker runs, 0 violation(s)").endsWith("violations: 0\n");
    }

    @Test
    void printScenarioShowsTheBuiltInOne() {
        MainTest.Run r = MainTest.run("simulate", "--print-scenario");
        assertThat(r.status()).isZero();
        assertThat(r.out()).contains("boot", "split-linear", "hotadd 1G far", "walkers 2");
    }
}
