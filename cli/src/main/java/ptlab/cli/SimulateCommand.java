package ptlab.cli;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import ptlab.PtlabException;
import ptlab.arch.Architecture;
import ptlab.arch.Architectures;
import ptlab.arch.Level;
import ptlab.cpu.Violation;
import ptlab.pgtable.KernelConfig;
import ptlab.sim.Sample;
import ptlab.sim.Scenarios;
import ptlab.sim.SimHtml;
import ptlab.sim.SimReport;
import ptlab.sim.Simulation;
import ptlab.sim.SimulationException;
import ptlab.sim.Step;

/**
 * {@code ptlab simulate}: runs a scenario (the built-in one by default) on a simulated machine
 * per architecture and prints a summary ending in {@code violations: N}; exit status 1 if the
 * checker found any, 2 for bad input.
 */
@Command(name = "simulate", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = {"Run a scenario on a simulated machine: boot (linear map, vmalloc, vmemmap), processes faulting on several CPUs, "
                + "lockless walkers under RCU, the linear-map split under stop_machine, memory hot-add, fork, protect, reclaim, "
                + "collapse, unmap and exit, with the invariant checker. Prints a summary ending in 'violations: N'.",
            "The scenario language is the trace language plus kernel-side steps: see docs/scenario.md, or --print-scenario."})
final class SimulateCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--arch", description = "Architecture, or 'all' for every one (default: ${DEFAULT-VALUE}).", defaultValue = "all")
    String arch;

    @Option(names = "--cpus", description = "Simulated CPUs of the kernel side (stop_machine parks them, kernel TLB flushes reach them), "
            + "2 to 64 (default: ${DEFAULT-VALUE}); 'parallel N' and 'walkers N' steps run on CPUs of their own.",
            defaultValue = "4")
    int cpus;

    @Option(names = "--seed", description = "Seed of the run (walkers' choices); same seed, same page tables after every step (default: ${DEFAULT-VALUE}).",
            defaultValue = "1")
    long seed;

    @Option(names = "--ram", description = "Simulated RAM, 256M to 1T, e.g. 4G or 512M, and at most what the linear map of "
            + "each architecture run holds (32G on arm64-16k-36, 84G on riscv-sv39, 256G on arm64-4k-39) (default: ${DEFAULT-VALUE}).",
            defaultValue = "4G")
    String ram;

    @Option(names = "--check-every", paramLabel = "N",
            description = "Also run the checker after every N steps (0: only at 'check' steps and the end; default: ${DEFAULT-VALUE}).",
            defaultValue = "0")
    int checkEvery;

    @Option(names = "--scenario", paramLabel = "FILE", description = "Run this scenario instead of the built-in one.")
    Path scenario;

    @Option(names = "--print-scenario", description = "Print the built-in scenario and exit.")
    boolean printScenario;

    @Option(names = "--report", paramLabel = "FILE", description = "Write an HTML report (charts of page-table memory and occupancy).")
    Path report;

    @Option(names = "--jfr", paramLabel = "FILE", description = "Record JFR events (table alloc/free, split, collapse, sync, TLB flush, "
            + "grace period) to FILE, for JDK Mission Control.")
    Path jfr;

    @Mixin
    ModelOptions model;

    @Option(names = "--quiet", description = "No progress bar.")
    boolean quiet;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        if (printScenario) {
            out.print(Scenarios.defaultText());
            out.flush();
            return 0;
        }
        if (cpus < 2 || cpus > 64) {
            throw new PtlabException("--cpus must be between 2 and 64: " + cpus);
        }
        if (checkEvery < 0) {
            throw new PtlabException("--check-every must not be negative: " + checkEvery);
        }
        long ramBytes = RamOption.parse("--ram", ram, RamOption.SIMULATE_MIN, RamOption.SIMULATE_MAX);
        List<Architecture> archs = architectures(arch);
        RamOption.checkFits("--ram", ram, ramBytes, archs);
        if (report != null) {
            OutputFiles.checkWritable("--report", report);
        }
        if (jfr != null) {
            OutputFiles.checkWritable("--jfr", jfr);
        }
        if (report != null && jfr != null && report.toAbsolutePath().normalize().equals(jfr.toAbsolutePath().normalize())) {
            throw new PtlabException("--report and --jfr name the same file " + report + " (one would overwrite the other)");
        }
        java.util.Set<ptlab.sim.Bug> bugs = model.bugs(); // an unknown name fails before anything runs
        List<Step> steps = scenario == null ? Scenarios.builtIn() : Scenarios.load(scenario);
        String name = scenario == null ? Scenarios.DEFAULT_NAME : scenario.toString();
        Recorder rec = jfr == null ? null : Recorder.start(jfr);
        List<SimReport> reports = new ArrayList<>();
        out.printf("ptlab simulate: %s, %d architecture(s), %d steps, %d cpus, %s RAM, seed %d%n", name, archs.size(), steps.size(),
                cpus, ram, seed);
        out.printf("%-13s %5s %5s %5s %6s %7s %9s %8s %8s %6s %6s %6s %7s %7s %6s %5s %6s%n", "arch", "pgd", "p4d", "pud", "pmd", "pte",
                "peak_kB", "ctors", "dtors", "dynptl", "syncs", "split", "flushes", "shootdn", "gps", "viol", "ms");
        out.flush();
        int violations = 0;
        boolean ran = false;
        try (Progress progress = new Progress((long) archs.size() * steps.size(), quiet)) {
            for (int ai = 0; ai < archs.size(); ai++) {
                Architecture a = archs.get(ai);
                KernelConfig cfg = model.apply(KernelConfig.of(a).withRam(ramBytes));
                long base = (long) ai * steps.size();
                SimReport r = run(name, a, new Simulation(cfg, cpus, seed, checkEvery).withBugs(bugs), steps, i -> progress.update(base + i, a.name()));
                reports.add(r);
                row(out, r);
                violations += r.violations().size();
            }
            ran = true;
        } finally {
            if (rec != null) {
                if (ran) {
                    rec.stop();
                } else {
                    rec.discard(); // a run that stopped with an error leaves no recording behind
                }
            }
        }
        out.println("  tables per level at the peak of NR_PAGETABLE (every mm, init_mm included); peak_kB = NR_PAGETABLE at the peak;");
        out.println("  dynptl = dynamic ptlock allocations; syncs = kernel-half syncs; split = tables the linear-map split made;");
        out.println("  flushes = TLB flushes, shootdn = shootdown requests to other CPUs; gps = RCU grace periods; viol = violations");
        if (archs.size() == 1) {
            details(out, reports.get(0));
        }
        for (SimReport r : reports) {
            for (String n : r.notes()) {
                out.println(r.config().arch().name() + ": " + n);
            }
            for (Violation v : r.violations()) {
                out.println(r.config().arch().name() + ": violation (after " + r.foundAfter(v) + ") " + v);
            }
        }
        if (report != null) {
            OutputFiles.write("--report", report, SimHtml.render(reports, name));
            out.println("report: " + report);
        }
        if (jfr != null) {
            out.println("jfr: " + jfr);
        }
        out.println("violations: " + violations);
        out.flush();
        return violations == 0 ? 0 : 1;
    }

    /** {@code --arch}: one architecture by name, or {@code all} of them. */
    /**
     * Runs {@code steps} on one architecture; a step that cannot run as written names the
     * scenario and the architecture before its line ({@code my.scn on x86_64-4l: line 2: ...}),
     * as parse errors name the file: the header is printed by then, and several may run.
     */
    static SimReport run(String scenario, Architecture a, Simulation sim, List<Step> steps, java.util.function.Consumer<Integer> progress) {
        try {
            return sim.run(steps, progress);
        } catch (SimulationException e) {
            throw new SimulationException(scenario + " on " + a.name() + ": " + e.getMessage(), e);
        }
    }

    static List<Architecture> architectures(String name) {
        return name.equals("all") ? new ArrayList<>(Architectures.all()) : List.of(Architectures.byName(name));
    }

    private static void row(PrintWriter out, SimReport r) {
        Architecture a = r.config().arch();
        Sample p = r.peak();
        long[] t = p.tables();
        SimReport.Counters c = r.counters();
        out.printf("%-13s %5s %5s %5s %6s %7d %9d %8d %8d %6d %6d %6d %7d %7d %6d %5d %6d%n", a.name(), cell(a, Level.PGD, t),
                cell(a, Level.P4D, t), cell(a, Level.PUD, t), cell(a, Level.PMD, t), t[Level.PTE.ordinal()],
                p.nrPagetable() * a.geometry().pageSize() >> 10, c.ctors(), c.dtors(), c.dynamicPtlocks(), c.syncCalls(),
                c.splitTables(), c.tlbFlushes(), c.shootdowns(), c.gracePeriods(), r.violations().size(), r.millis());
        out.flush();
    }

    private static void details(PrintWriter out, SimReport r) {
        SimReport.Counters c = r.counters();
        out.println();
        out.printf("%s in detail:%n", r.config().arch().name());
        out.printf("  ctors %d, dtors %d, ptlock inits %d (dynamic %d), install races lost %d%n", c.ctors(), c.dtors(), c.ptlockInits(),
                c.dynamicPtlocks(), c.installRacesLost());
        out.printf("  kernel-half syncs %d (%d entries copied), linear-map split made %d tables, hot-added %d MiB%n", c.syncCalls(),
                c.syncCopies(), c.splitTables(), c.hotAddedBytes() >> 20);
        out.printf("  TLB flushes %d, shootdowns %d, lockless walks %d (%d found no table), translations %d%n", c.tlbFlushes(),
                c.shootdowns(), c.locklessWalks(), c.walkRetries(), c.translations());
        out.printf("  RCU grace periods %d, checker runs %d, calls the kernel refused %d%n", c.gracePeriods(), c.checks(), c.failedCalls());
        out.println("  page-table memory after each step (KiB of NR_PAGETABLE, sum of VmPTE):");
        long pageKb = r.config().arch().geometry().pageSize() >> 10;
        for (Sample s : r.samples()) {
            out.printf("    %-22s %8d %8d%n", (s.line() > 0 ? s.line() + " " : "") + s.label(), s.nrPagetable() * pageKb, s.vmPteBytes() >> 10);
        }
    }

    private static String cell(Architecture a, Level l, long[] t) {
        return a.geometry().isFolded(l) ? "-" : Long.toString(t[l.ordinal()]);
    }
}
