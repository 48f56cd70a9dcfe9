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

    /**
     * The report's summary has the text summary's tables per level and peak, cell for cell, and
     * says why the occupancy totals differ from them (init_mm's static PGD and boot's tables are
     * walked but not in NR_PAGETABLE; a THP's deposited PTE table is the other way round).
     */
    @Test
    void theReportSummaryMatchesTheTextAndExplainsOccupancy() throws Exception {
        Path s = dir.resolve("thp.scenario");
        Files.writeString(s, "boot\nprocess a\nmmap 0x40000000 4M rw thp\ntouch 0x40000000 4M\n");
        Path html = dir.resolve("r.html");
        MainTest.Run r = MainTest.run("simulate", "--arch", "x86_64-4l", "--ram", "1G", "--quiet", "--scenario", s.toString(),
                "--report", html.toString());
        assertThat(r.status()).as(r.err()).isZero();
        String row = r.out().lines().filter(l -> l.startsWith("x86_64-4l ")).findFirst().orElseThrow();
        String[] cells = row.trim().split(" +");
        String expected = "<tr><td>" + String.join("</td><td>", java.util.Arrays.copyOf(cells, 7)) + "</td>";
        assertThat(expected).contains("<td>-</td>"); // p4d is folded on 4-level x86
        String page = Files.readString(html);
        assertThat(page).contains("<th>pgd</th><th>p4d</th><th>pud</th><th>pmd</th><th>pte</th>", expected)
                .contains("Occupancy counts the tables a walk from each PGD reaches at the peak");
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
        // Found only when its step runs (hotadd may grow RAM first): the scenario and architecture before the line.
        Path late = dir.resolve("late.scenario");
        Files.writeString(late, "boot\nsplit-linear 0x200000000 4K\n");
        String lateErr = "ptlab: " + late + " on x86_64-4l: line 2: split-linear range 0x200000000 + 0x1000 is not inside RAM (0x100000000 bytes)\n";
        MainTest.Run sim = MainTest.run("simulate", "--quiet", "--scenario", late.toString(), "--arch", "x86_64-4l", "--ram", "4G");
        assertThat(sim.status()).isEqualTo(2);
        assertThat(sim.err()).isEqualTo(lateErr);
        MainTest.Run chk = MainTest.run("check", "--scenario", late.toString(), "--arch", "x86_64-4l", "--ram", "4G");
        assertThat(chk.status()).isEqualTo(2);
        assertThat(chk.err()).isEqualTo(lateErr);
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

    /**
     * The lifecycle-rule switches of KernelConfig reach the simulated machine: a scenario that
     * splits the linear map runs clean on PREEMPT_RT (its tables are preallocated outside
     * stop_machine) and with the pre-6.16 constructor rules.
     */
    @Test
    void modelSwitchesChangeTheKernelConfig() throws Exception {
        CheckCommand c = new CheckCommand();
        new picocli.CommandLine(c).parseArgs("--preempt-rt", "--pre-6.16-ctors");
        ptlab.pgtable.KernelConfig k = c.model.apply(ptlab.pgtable.KernelConfig.defaults());
        assertThat(k.preemptRt()).isTrue();
        assertThat(k.dynamicPtlocks()).as("PREEMPT_RT allocates ptlocks").isTrue();
        assertThat(k.pre616Ctors()).isTrue();
        SimulateCommand sim = new SimulateCommand();
        new picocli.CommandLine(sim).parseArgs("--dynamic-ptlocks");
        ptlab.pgtable.KernelConfig d = sim.model.apply(ptlab.pgtable.KernelConfig.defaults());
        assertThat(d.dynamicPtlocks()).isTrue();
        assertThat(d.preemptRt()).isFalse();
        Path s = dir.resolve("split.scenario");
        Files.writeString(s, "boot\nprocess a\nmmap 0x100000000 8M\ntouch 0x100000000 8M\nsplit-linear\nexit a\n");
        MainTest.Run r = MainTest.run("check", "--scenario", s.toString(), "--arch", "arm64-4k-48", "--ram", "1G", "--preempt-rt",
                "--pre-6.16-ctors");
        assertThat(r.status()).as(r.out() + r.err()).isZero();
    }

    /**
     * --bug runs a known lifecycle bug, and the checker reports it where the scenario exercises
     * it: a hot-add without the kernel-half sync, a split without its flush, dropped
     * shootdowns, and (with PT reclaim under walkers) tables freed without RCU. The same
     * scenarios are clean without it; an unknown name is bad input.
     */
    @Test
    void aKnownBugIsReportedByTheRuleItBreaks() throws Exception {
        Path s = dir.resolve("kernel.scenario");
        Files.writeString(s, "boot\nprocess a\nmmap 0x100000000 8M\ntouch 0x100000000 8M\nwalkers 4\nhotadd 128M far\nsplit-linear\n"
                + "munmap 0x100000000 4M\nexit a\n");
        String[] base = {"check", "--scenario", s.toString(), "--arch", "x86_64-4l", "--ram", "4G"};
        assertThat(MainTest.run(base).status()).isZero();
        // Each bug with two words of the report it must give (either will do).
        String[][] bugs = {{"no-kernel-sync", "kernel-half", "missing arch_sync_kernel_mappings"},
                {"no-split-flush", "bbm", "changed and not flushed"}, {"no-tlb-flush", "freed before the TLB flush", "stale-tlb"}};
        for (String[] b : bugs) {
            MainTest.Run r = MainTest.run(concat(base, "--bug", b[0]));
            assertThat(r.status()).as(b[0] + ": " + r.out() + r.err()).isEqualTo(1);
            assertThat(r.out()).as(b[0]).containsAnyOf(b[1], b[2]);
        }
        StringBuilder reclaim = new StringBuilder("process p\nmmap 0x100000000 8M rw nothp\nwalkers 8\n");
        for (int i = 0; i < 100; i++) {
            reclaim.append("touch 0x100000000 8M write\nmadvise 0x100000000 8M dontneed\n");
        }
        Path r = dir.resolve("reclaim.scenario");
        Files.writeString(r, reclaim.toString());
        MainTest.Run rcu = MainTest.run("check", "--scenario", r.toString(), "--arch", "x86_64-4l", "--ram", "1G", "--bug", "no-rcu-free");
        assertThat(rcu.out()).as(rcu.err()).contains("use-after-free", "freed by pte_free_defer");
        MainTest.Run bad = MainTest.run("check", "--bug", "bogus");
        assertThat(bad.status()).isEqualTo(Main.EXIT_USAGE);
        assertThat(bad.err()).isEqualTo("ptlab: unknown bug 'bogus' (known: no-rcu-free, no-kernel-sync, no-split-flush, no-tlb-flush)"
                + System.lineSeparator());
    }

    private static String[] concat(String[] a, String... b) {
        String[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    /**
     * A bad change usually breaks one rule for many tables: check groups the violations by kind,
     * names the step after which each was first found, and lists the first few unless --all.
     */
    @Test
    void checkGroupsViolationsByKindAndNamesTheStep() throws Exception {
        Path s = dir.resolve("v.scenario");
        Files.writeString(s, "process a\nmmap 0x100000000 4M\ntouch 0x100000000 4M\n");
        ptlab.sim.Simulation sim = new ptlab.sim.Simulation(ptlab.pgtable.KernelConfig.defaults().withRam(1L << 30), 2, 1, 1);
        ptlab.sim.SimReport rep = sim.run(ptlab.sim.Scenarios.load(s), i -> {
            if (i == 2) {
                for (int n = 0; n < 7; n++) {
                    sim.kernel().pageTables().log().record("ctor", "table " + n + " is live but its ctor did not run");
                }
            }
        });
        java.io.StringWriter w = new java.io.StringWriter();
        CheckCommand.print(new java.io.PrintWriter(w, true), rep, false);
        assertThat(w.toString()).isEqualTo("  ctor: 7 violation(s), first found after line 3 (touch)\n"
                + "    [after line 3 (touch)] table 0 is live but its ctor did not run\n"
                + "    [after line 3 (touch)] table 1 is live but its ctor did not run\n"
                + "    [after line 3 (touch)] table 2 is live but its ctor did not run\n"
                + "    [after line 3 (touch)] table 3 is live but its ctor did not run\n"
                + "    [after line 3 (touch)] table 4 is live but its ctor did not run\n"
                + "    ... and 2 more (--all lists them)\n");
        java.io.StringWriter every = new java.io.StringWriter();
        CheckCommand.print(new java.io.PrintWriter(every, true), rep, true);
        assertThat(every.toString()).contains("table 6 is live").doesNotContain("more");
    }

    /**
     * {@code --jfr} records the tracepoints. The events are created only once JFR is initialised
     * (Tracepoints' start-up guard), so this is the test that the guard lets them through.
     */
    @Test
    void jfrRecordsTheTracepoints() throws Exception {
        Path s = dir.resolve("small.scenario");
        Files.writeString(s, "process a\nmmap 0x100000000 8M\ntouch 0x100000000 8M\nmprotect 0x100000000 8M r\nexit a\n");
        Path jfr = dir.resolve("run.jfr");
        MainTest.Run r = MainTest.run("simulate", "--scenario", s.toString(), "--arch", "x86_64-4l", "--quiet", "--jfr", jfr.toString());
        assertThat(r.status()).as(r.err()).isZero();
        java.util.Map<String, Long> counts = new java.util.TreeMap<>();
        for (jdk.jfr.consumer.RecordedEvent e : jdk.jfr.consumer.RecordingFile.readAllEvents(jfr)) {
            if (e.getEventType().getName().startsWith("ptlab.")) {
                counts.merge(e.getEventType().getName(), 1L, Long::sum);
            }
        }
        assertThat(counts).containsKeys("ptlab.Table", "ptlab.TlbFlush");
        assertThat(counts.get("ptlab.Table")).isGreaterThanOrEqualTo(2 * 4); // at least one table per level allocated and freed
    }

    /**
     * A run that stops with an error (exit 2) writes no recording and no report, and leaves a
     * file that was there before as it was; --report and --jfr naming one file is refused.
     */
    @Test
    void aFailedRunLeavesNoRecordingOrReportBehind() throws Exception {
        Path late = dir.resolve("late.scenario");
        Files.writeString(late, "boot\nprocess a\nmmap 0x100000000 4M\ntouch 0x100000000 4M\nsplit-linear 0x200000000 4K\n");
        Path jfr = dir.resolve("run.jfr");
        Path html = dir.resolve("run.html");
        MainTest.Run r = MainTest.run("simulate", "--quiet", "--scenario", late.toString(), "--arch", "x86_64-4l", "--jfr", jfr.toString(),
                "--report", html.toString());
        assertThat(r.status()).isEqualTo(2);
        assertThat(jfr).doesNotExist();
        assertThat(html).doesNotExist();
        Files.writeString(jfr, "an older recording");
        assertThat(MainTest.run("simulate", "--quiet", "--scenario", late.toString(), "--arch", "x86_64-4l", "--jfr", jfr.toString())
                .status()).isEqualTo(2);
        assertThat(Files.readString(jfr)).isEqualTo("an older recording");
        try (var files = Files.list(dir)) {
            assertThat(files).as("no temporary files").hasSize(2);
        }
        MainTest.Run same = MainTest.run("simulate", "--quiet", "--arch", "x86_64-4l", "--jfr", html.toString(), "--report",
                dir.resolve(".").resolve("run.html").toString());
        assertThat(same.status()).isEqualTo(2);
        assertThat(same.err()).isEqualTo("ptlab: --report and --jfr name the same file " + dir.resolve(".").resolve("run.html")
                + " (one would overwrite the other)\n");
    }

    @Test
    void printScenarioShowsTheBuiltInOne() {
        MainTest.Run r = MainTest.run("simulate", "--print-scenario");
        assertThat(r.status()).isZero();
        assertThat(r.out()).contains("boot", "split-linear", "hotadd 1G far", "walkers 2");
    }
}
