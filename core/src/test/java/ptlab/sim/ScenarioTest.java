package ptlab.sim;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.StringReader;
import java.util.List;
import org.junit.jupiter.api.Test;
import ptlab.arch.Architectures;
import ptlab.arch.Level;
import ptlab.cpu.Violation;
import ptlab.pgtable.KernelConfig;
import ptlab.trace.TraceSyntaxException;

/** The scenario language, the built-in scenario, and what a simulation reports. */
class ScenarioTest {
    private static List<Step> parse(String text) throws Exception {
        return ScenarioParser.parse("s.scenario", new StringReader(text));
    }

    @Test
    void badScenariosNameFileAndLine() {
        assertThatThrownBy(() -> parse("boot\nfrobnicate\n")).isInstanceOf(TraceSyntaxException.class)
                .hasMessageStartingWith("s.scenario:2: unknown step 'frobnicate'");
        assertThatThrownBy(() -> parse("mmap 0x100000000 4M\n")).hasMessage("s.scenario:1: no current process (start one with 'process NAME')");
        assertThatThrownBy(() -> parse("hotadd 1G\n")).hasMessage("s.scenario:1: hotadd: needs 'boot' first");
        assertThatThrownBy(() -> parse("process a\nuse b\n")).hasMessage("s.scenario:2: no process 'b' here");
        assertThatThrownBy(() -> parse("process a\nprocess a\n")).hasMessage("s.scenario:2: process 'a' already exists");
        assertThatThrownBy(() -> parse("process a\nparallel 0 touch 0x100000000 4K\n")).hasMessageStartingWith("s.scenario:2: bad count '0'");
        assertThatThrownBy(() -> parse("process a\nparallel 2 fork\n")).hasMessageContaining("fork cannot run on several CPUs");
        assertThatThrownBy(() -> parse("process a\nmprotect 0x100000800 4K r\n")).hasMessage("s.scenario:2: address 0x100000800 is not aligned to a 4 KiB page");
        assertThatThrownBy(() -> parse("boot\nhotadd 1G near\n")).hasMessageStartingWith("s.scenario:2: hotadd: expected 'far'");
        assertThatThrownBy(() -> parse("process a\nexit\nexit\n")).hasMessage("s.scenario:3: no current process (start one with 'process NAME')");
    }

    /**
     * A violation names the step after which the checker first found it: with a check after
     * every step, that is the step that broke the rule (here recorded by hand after line 4).
     */
    @Test
    void eachViolationNamesTheStepAfterWhichItWasFirstFound() throws Exception {
        KernelConfig c = KernelConfig.of(Architectures.byName("x86_64-4l")).withRam(1L << 30);
        Simulation sim = new Simulation(c, 2, 1, 1);
        List<Step> steps = parse("process a\nmmap 0x100000000 4M\n\ntouch 0x100000000 4M\nmunmap 0x100000000 4M\n");
        SimReport r = sim.run(steps, i -> {
            if (i == 2) { // after the mmap's check: the next check, after the touch, finds it
                sim.kernel().pageTables().log().record("test-rule", "recorded after the second step");
            }
        });
        assertThat(r.violations()).extracting(Violation::kind).containsExactly("test-rule");
        assertThat(r.foundAfter(r.violations().get(0))).isEqualTo("line 4 (touch)");
    }

    /** The example scenarios under docs/scenarios (the docs point users at them) parse. */
    @Test
    void theDocsExampleScenariosParse() throws IOException {
        java.nio.file.Path dir = java.nio.file.Path.of("..", "docs", "scenarios");
        org.junit.jupiter.api.Assumptions.assumeTrue(java.nio.file.Files.isDirectory(dir), "docs/scenarios next to the core module");
        try (java.util.stream.Stream<java.nio.file.Path> files = java.nio.file.Files.list(dir)) {
            List<java.nio.file.Path> all = files.filter(f -> f.toString().endsWith(".scenario")).collect(java.util.stream.Collectors.toList());
            assertThat(all).isNotEmpty();
            for (java.nio.file.Path f : all) {
                assertThat(Scenarios.load(f)).as(f.toString()).isNotEmpty();
            }
        }
    }

    @Test
    void theBuiltInScenarioParses() {
        List<Step> steps = Scenarios.builtIn();
        assertThat(steps).hasSizeGreaterThan(20);
        assertThat(steps).anyMatch(s -> s instanceof Step.Boot).anyMatch(s -> s instanceof Step.SplitLinear)
                .anyMatch(s -> s instanceof Step.HotAdd).anyMatch(s -> s instanceof Step.Walkers).anyMatch(s -> s instanceof Step.Parallel)
                .anyMatch(s -> s instanceof Step.Fork);
    }

    @Test
    void theBuiltInScenarioRunsCleanAndItsPageTableCountsDependOnlyOnTheSeed() {
        KernelConfig c = KernelConfig.of(Architectures.byName("x86_64-4l")).withRam(1L << 30);
        SimReport a = new Simulation(c, 4, 7, 0).run(Scenarios.builtIn(), i -> { });
        SimReport b = new Simulation(c, 4, 7, 5).run(Scenarios.builtIn(), i -> { });
        assertThat(a.violations()).isEmpty();
        assertThat(b.violations()).isEmpty();
        assertThat(a.samples()).hasSize(b.samples().size());
        for (int i = 0; i < a.samples().size(); i++) {
            assertThat(a.samples().get(i).tables()).as("tables after sample %d", i).isEqualTo(b.samples().get(i).tables());
            assertThat(a.samples().get(i).vmPteBytes()).isEqualTo(b.samples().get(i).vmPteBytes());
        }
        SimReport.Counters ca = a.counters();
        assertThat(ca.splitTables()).as("the 1 GiB linear map split to PTEs: 512 PTE tables + 1 PMD table").isEqualTo(513);
        assertThat(ca.syncCalls()).as("'hotadd 1G far' populates a new PGD entry: x86 syncs it").isEqualTo(1);
        assertThat(ca.syncCopies()).as("into the two user PGDs alive then (init, db)").isEqualTo(2);
        assertThat(ca.hotAddedBytes()).isEqualTo(2L << 30);
        assertThat(ca.locklessWalks()).isPositive();
        assertThat(ca.gracePeriods()).isPositive();
        assertThat(ca.tlbFlushes()).isEqualTo(b.counters().tlbFlushes());
        assertThat(ca.ctors() - ca.dtors()).as("live tables at the end: init_mm's").isEqualTo(a.samples().get(a.samples().size() - 1).tables()[Level.PTE.ordinal()]
                + a.samples().get(a.samples().size() - 1).tables()[Level.PMD.ordinal()] + a.samples().get(a.samples().size() - 1).tables()[Level.PUD.ordinal()]
                + a.samples().get(a.samples().size() - 1).tables()[Level.PGD.ordinal()]);
        assertThat(b.counters().checks()).as("--check-every 5").isGreaterThan(a.counters().checks());
        assertThat(a.occupancyAtPeak()).isNotNull();
        assertThat(SimHtml.render(List.of(a), "t")).contains("<svg", "page-table memory per level", "entry occupancy", "violations: 0");
    }

    @Test
    void aStepOutOfOrderIsRejectedBeforeAnythingRuns() {
        assertThatThrownBy(() -> parse("process a\nsplit-linear\n")).hasMessage("s.scenario:2: split-linear: needs 'boot' first");
    }

    @Test
    void refusedCallsOfParallelStepsAreListedOncePerErrno() throws Exception {
        KernelConfig c = KernelConfig.of(Architectures.byName("x86_64-4l")).withRam(1L << 30);
        SimReport r = new Simulation(c, 4, 1, 0).run(parse("process a\nparallel 4 mmap 0x100000000 4M\n"), i -> { });
        assertThat(r.counters().failedCalls()).isEqualTo(3);
        assertThat(r.notes()).containsExactly("line 2 parallel mmap: EEXIST (errno 17) on 3 of 4 CPUs");
        assertThat(r.violations()).isEmpty();
    }

    /** The timeline (text and --report) names each step as the scenario spells it, not by its Java class. */
    @Test
    void samplesAreLabelledWithTheScenarioKeywords() throws Exception {
        KernelConfig c = KernelConfig.of(Architectures.byName("x86_64-4l")).withRam(1L << 30);
        SimReport r = new Simulation(c, 4, 1, 0).run(parse("boot\nprocess a\nmmap 0x100000000 4M\nparallel 2 touch 0x100000000 4M\n"
                + "fork b\nsplit-linear\nhotadd 128M\nwalkers 1\nwalkers 0\nuse b\nexit b\ncheck\n"), i -> { });
        assertThat(r.samples()).extracting(Sample::label).containsExactly("start", "boot", "process", "mmap", "parallel touch", "fork",
                "split-linear", "hotadd", "walkers", "walkers", "use", "exit", "check", "end");
    }

    @Test
    void aProcessTheRamCannotHoldEndsTheRunWithItsLine() throws Exception {
        KernelConfig c = KernelConfig.of(Architectures.byName("x86_64-4l")).withRam(256L << 20);
        // The touch fills the RAM (it stops at ENOMEM, a refused call), so the fork has no frame
        // for the child's PGD; a named child is needed by later steps, so the run cannot go on.
        List<Step> steps = parse("process a\nmmap 0x100000000 256M\ntouch 0x100000000 256M\nfork b\n");
        assertThatThrownBy(() -> new Simulation(c, 4, 1, 0).run(steps, i -> { }))
                .isInstanceOf(SimulationException.class)
                .hasMessageStartingWith("line 4: 'fork': out of memory: ENOMEM")
                .hasMessageEndingWith("the simulated RAM (256 MiB) is used up; give more with --ram");
    }

    @Test
    void aSplitOfTheLinearMapOutsideRamIsNamed() throws Exception {
        KernelConfig c = KernelConfig.of(Architectures.byName("x86_64-4l")).withRam(1L << 30);
        assertThatThrownBy(() -> new Simulation(c, 4, 1, 0).run(parse("boot\nsplit-linear 2G 4K\n"), i -> { }))
                .isInstanceOf(SimulationException.class)
                .hasMessage("line 2: split-linear range 0x80000000 + 0x1000 is not inside RAM (0x40000000 bytes)");
        assertThatThrownBy(() -> new Simulation(c, 4, 1, 0).run(parse("boot\nhotadd 0x7ffffffffffff000\n"), i -> { }))
                .hasMessage("line 2: hotadd of 0x7ffffffffffff000 bytes: not a size that whole memory blocks of 128 MiB can hold");
    }

    /** Two CPUs collapsing one anonymous range: each PMD is collapsed once (it double-freed a PTE table at exit). */
    @Test
    void concurrentAnonymousCollapseCollapsesEachPmdOnce() throws Exception {
        KernelConfig c = KernelConfig.of(Architectures.byName("x86_64-4l")).withRam(1L << 30);
        for (int round = 0; round < 5; round++) {
            SimReport r = new Simulation(c, 4, round, 1).run(parse("process p\nmmap 0x100000000 64M rw\ntouch 0x100000000 64M write\n"
                    + "parallel 4 madvise 0x100000000 64M collapse\nmunmap 0x100000000 64M\n"), i -> { });
            assertThat(r.violations()).as("round %d", round).isEmpty();
        }
    }
}
