package ptlab.cli;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import ptlab.arch.Architecture;
import ptlab.cpu.Violation;
import ptlab.pgtable.KernelConfig;
import ptlab.sim.Scenarios;
import ptlab.sim.SimReport;
import ptlab.sim.Simulation;
import ptlab.sim.Step;

/**
 * {@code ptlab check}: runs a scenario with the invariant checker after every step and lists
 * the violations (exit 0 if there are none, 1 if there are, 2 for bad input), grouped by kind
 * with the step after which each was first found, so that a bad change shows where it bites;
 * one broken rule often breaks it for every table, so each kind lists its first
 * {@value #SHOWN} unless {@code --all}.
 */
@Command(name = "check", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = "Run a scenario (the built-in one by default) with the invariant checker after every step; list the violations.")
final class CheckCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--scenario", paramLabel = "FILE", description = "The scenario to check (default: the built-in one).")
    Path scenario;

    @Option(names = "--arch", description = "Architecture, or 'all' (default: ${DEFAULT-VALUE}).", defaultValue = "x86_64-4l")
    String arch;

    @Option(names = "--seed", defaultValue = "1", description = "Seed (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--ram", defaultValue = "4G", description = "Simulated RAM, 256M to 1T, and at most what the linear map of each "
            + "architecture run holds (32G on arm64-16k-36, 84G on riscv-sv39, 256G on arm64-4k-39) (default: ${DEFAULT-VALUE}).")
    String ram;

    @Mixin
    ModelOptions model;

    /** Violations listed per kind without {@code --all}. */
    static final int SHOWN = 5;

    @Option(names = "--all", description = "List every violation (default: the first " + SHOWN + " of each kind).")
    boolean all;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        long ramBytes = RamOption.parse("--ram", ram, RamOption.SIMULATE_MIN, RamOption.SIMULATE_MAX);
        List<Architecture> archs = SimulateCommand.architectures(arch);
        RamOption.checkFits("--ram", ram, ramBytes, archs);
        java.util.Set<ptlab.sim.Bug> bugs = model.bugs(); // an unknown name fails before anything runs
        List<Step> steps = scenario == null ? Scenarios.builtIn() : Scenarios.load(scenario);
        String name = scenario == null ? Scenarios.DEFAULT_NAME : scenario.toString();
        int total = 0;
        for (Architecture a : archs) {
            SimReport r = SimulateCommand.run(name, a, new Simulation(model.apply(KernelConfig.of(a).withRam(ramBytes)), 4, seed, 1).withBugs(bugs), steps, i -> { });
            out.printf("%s on %s: %d steps, %d checker runs, %d violation(s)%n", name, a.name(), steps.size(), r.counters().checks(),
                    r.violations().size());
            print(out, r, all);
            total += r.violations().size();
        }
        out.println("violations: " + total);
        out.flush();
        return total == 0 ? 0 : 1;
    }

    /** The violations of {@code r} by kind, each with the step after which it was first found. */
    static void print(PrintWriter out, SimReport r, boolean all) {
        Map<String, List<Violation>> byKind = new LinkedHashMap<>();
        for (Violation v : r.violations()) {
            byKind.computeIfAbsent(v.kind(), k -> new ArrayList<>()).add(v);
        }
        for (Map.Entry<String, List<Violation>> e : byKind.entrySet()) {
            List<Violation> vs = e.getValue();
            out.printf("  %s: %d violation(s), first found after %s%n", e.getKey(), vs.size(), r.foundAfter(vs.get(0)));
            int shown = all ? vs.size() : Math.min(SHOWN, vs.size());
            for (Violation v : vs.subList(0, shown)) {
                out.println("    [after " + r.foundAfter(v) + "] " + v.detail());
            }
            if (shown < vs.size()) {
                out.println("    ... and " + (vs.size() - shown) + " more (--all lists them)");
            }
        }
    }
}
