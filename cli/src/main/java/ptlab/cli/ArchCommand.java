package ptlab.cli;

import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;
import ptlab.arch.Architecture;
import ptlab.arch.Architectures;
import ptlab.arch.Geometry;
import ptlab.arch.Level;

/**
 * {@code ptlab arch}: lists the architectures or shows one's geometry. What one entry maps is
 * printed with a unit (512G, 2M, 4K), as {@code ptlab dump} prints sizes, not as a byte count.
 */
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
                out.printf("%-14s %s%n", a.name(), levels(a.geometry()));
            }
            out.println("  LEVEL[entries x what one entry maps], leaf: the level may map a block itself");
            return 0;
        }
        Architecture a = Architectures.byName(arch);
        out.printf("%s: %d-bit VA, %d KiB pages, format %s%n", a.name(), a.geometry().vaBits(), a.geometry().pageSize() >> 10,
                a.format().name());
        for (Level l : Level.values()) {
            var g = a.geometry();
            out.printf("  %-4s %s%n", l, g.isFolded(l) ? "folded into " + g.holder(l)
                    : g.entries(l) + " entries, each maps " + Sizes.format(g.entrySize(l)) + (g.leafAllowed(l) ? ", leaf" : "")
                            + (g.contiguousEntries(l) > 0 ? ", cont " + g.contiguousEntries(l) : ""));
        }
        return 0;
    }

    /** {@code PGD[512x512G] PUD[512x1G,leaf] ...}: the run-time levels, top down. */
    private static String levels(Geometry g) {
        StringBuilder b = new StringBuilder();
        for (Level l : g.levels()) {
            b.append(l).append('[').append(g.entries(l)).append('x').append(Sizes.format(g.entrySize(l)))
                    .append(g.leafAllowed(l) ? ",leaf" : "").append("] ");
        }
        return b.toString().trim();
    }
}
