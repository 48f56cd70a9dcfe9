package ptlab.cli;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import ptlab.PtlabException;
import ptlab.arch.Architecture;
import ptlab.arch.Architectures;
import ptlab.arch.Level;
import ptlab.cpu.Violation;
import ptlab.pgtable.KernelConfig;
import ptlab.sim.DefaultScenario;

/** {@code ptlab simulate}: runs the built-in scenario on every architecture (or one) and prints a summary. */
@Command(name = "simulate", mixinStandardHelpOptions = true,
        description = "Run the built-in scenario: processes built concurrently by simulated CPUs, forked, protected, reclaimed, "
                + "collapsed, unmapped and exited, with the invariant checker after every phase.")
final class SimulateCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--arch", description = "Only this architecture (default: all).")
    String arch;

    @Option(names = "--cpus", description = "Simulated CPUs (threads) faulting concurrently (default: ${DEFAULT-VALUE}).", defaultValue = "4")
    int cpus;

    @Option(names = "--seed", description = "Seed of the scenario (default: ${DEFAULT-VALUE}).", defaultValue = "1")
    long seed;

    @Option(names = "--ram", description = "Simulated RAM in GiB (default: ${DEFAULT-VALUE}).", defaultValue = "16")
    long ramGib;

    @Override
    public Integer call() {
        if (cpus < 1 || cpus > 256) {
            throw new PtlabException("--cpus must be between 1 and 256: " + cpus);
        }
        if (ramGib < 1 || ramGib > (1L << 16)) {
            throw new PtlabException("--ram must be between 1 and 65536 GiB: " + ramGib);
        }
        List<Architecture> archs = new ArrayList<>();
        if (arch != null) {
            archs.add(Architectures.byName(arch));
        } else {
            archs.addAll(Architectures.all());
        }
        PrintWriter out = spec.commandLine().getOut();
        out.printf("ptlab simulate: %d architecture(s), %d cpus, seed %d, %d GiB RAM%n", archs.size(), cpus, seed, ramGib);
        out.printf("%-14s %5s %5s %5s %5s %6s %10s %8s %8s %8s %6s %7s %6s%n", "arch", "pgd", "p4d", "pud", "pmd", "pte", "VmPTE_kB",
                "ctors", "dtors", "ptlocks", "races", "flushes", "ms");
        int violations = 0;
        for (Architecture a : archs) {
            KernelConfig cfg = KernelConfig.of(a).withRam(ramGib << 30);
            DefaultScenario.Result r = new DefaultScenario(cfg, cpus, seed).run();
            long[] t = r.peakTablesPerLevel();
            out.printf("%-14s %5s %5s %5s %5s %6d %10d %8d %8d %8d %6d %7d %6d%n", r.arch(), cell(a, Level.PGD, t), cell(a, Level.P4D, t),
                    cell(a, Level.PUD, t), cell(a, Level.PMD, t), t[Level.PTE.ordinal()], r.peakPgtablesBytes() >> 10, r.ctors(),
                    r.dtors(), r.ptlockInits(), r.installRacesLost(), r.tlbFlushes(), r.millis());
            for (Violation v : r.violations()) {
                out.println("  violation " + v);
            }
            violations += r.violations().size();
        }
        out.println("tables per level and VmPTE at the peak (3 processes); ctors/dtors over the whole run; races = install races lost");
        out.println("violations: " + violations);
        return violations == 0 ? 0 : 1;
    }

    private static String cell(Architecture a, Level l, long[] t) {
        return a.geometry().isFolded(l) ? "-" : Long.toString(t[l.ordinal()]);
    }
}
