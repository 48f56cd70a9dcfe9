package ptlab.cli;

import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;
import ptlab.arch.Architecture;
import ptlab.arch.Architectures;
import ptlab.arch.Level;

/** {@code ptlab arch}: lists the architectures or shows one's geometry. */
@Command(name = "arch", mixinStandardHelpOptions = true, versionProvider = Main.Version.class, description = "List architectures, or show the geometry of one.")
final class ArchCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--arch", description = "Architecture to show (default: list all).")
    String arch;

    @Override
    public Integer call() {
        var out = spec.commandLine().getOut();
        if (arch == null) {
            for (Architecture a : Architectures.all()) {
                out.printf("%-14s %s%n", a.name(), a.geometry());
            }
            return 0;
        }
        Architecture a = Architectures.byName(arch);
        out.printf("%s: %d-bit VA, %d KiB pages, format %s%n", a.name(), a.geometry().vaBits(), a.geometry().pageSize() >> 10,
                a.format().name());
        for (Level l : Level.values()) {
            var g = a.geometry();
            out.printf("  %-4s %s%n", l, g.isFolded(l) ? "folded into " + g.holder(l)
                    : g.entries(l) + " entries x " + g.entrySize(l) + " bytes" + (g.leafAllowed(l) ? ", leaf" : "")
                            + (g.contiguousEntries(l) > 0 ? ", cont " + g.contiguousEntries(l) : ""));
        }
        return 0;
    }
}
