package ptlab.cli;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import ptlab.PtlabException;
import ptlab.arch.Architecture;
import ptlab.arch.Architectures;
import ptlab.snapshot.Analysis;
import ptlab.snapshot.Capture;
import ptlab.snapshot.HtmlReport;
import ptlab.snapshot.Rebuild;
import ptlab.snapshot.Snapshot;
import ptlab.snapshot.TextReport;

/** {@code ptlab snapshot capture|analyze}: snapshots of real processes (DESIGN.md, "Snapshots"). */
@Command(name = "snapshot", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = "Capture a process's /proc files, or rebuild a capture's page tables in ptlab and report where the bytes go.",
        subcommands = {HelpCommand.class, SnapshotCommand.CaptureCmd.class, SnapshotCommand.AnalyzeCmd.class})
final class SnapshotCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        spec.commandLine().usage(spec.commandLine().getOut());
        return 0;
    }

    @Command(name = "capture", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
            description = "Copy /proc/PID/{maps,smaps,status} to DIR and write DIR/pagemap (the entries of every page of each mapping "
                    + "below 0x800000000000, in maps order; a sparse file where they are zero) and DIR/pagemap.index (where the present, "
                    + "swapped and marker entries are, so analyze reads only those).")
    static final class CaptureCmd implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Parameters(index = "0", paramLabel = "PID", description = "Process id (or 'self').")
        String pid;

        @Parameters(index = "1", paramLabel = "DIR", description = "Directory to write: a new one, or an empty one (a capture never mixes with older files).")
        Path dir;

        @Override
        public Integer call() {
            if (!pid.equals("self") && !pid.matches("[0-9]{1,10}")) {
                throw new PtlabException("PID must be a process id or 'self': " + pid);
            }
            long pages = Capture.capture(Path.of("/proc", pid), dir);
            spec.commandLine().getOut().printf("captured /proc/%s into %s: %d pagemap entries%n", pid, dir, pages);
            return 0;
        }
    }

    @Command(name = "analyze", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
            description = "Rebuild the captured address space as real page tables in ptlab and report tables per level, occupancy, "
                    + "the costliest VMAs and what-ifs; the last line is 'pgtables_kB=N VmPTE_kB=M'.")
    static final class AnalyzeCmd implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Parameters(paramLabel = "DIR", description = "A capture directory.")
        Path dir;

        @Option(names = "--thp", paramLabel = "MODE", description = "What-if: 'always' (as if THP were on for every anonymous VMA).")
        String thp;

        @Option(names = "--arch", paramLabel = "NAME", description = "What-if: the same layout on another architecture (repeatable); "
                + "see 'ptlab arch'.")
        List<String> archs = new ArrayList<>();

        @Option(names = "--html", paramLabel = "FILE", description = "Also write the report as a self-contained HTML page.")
        Path html;

        @Option(names = "--top", paramLabel = "N", description = "VMAs to list (default: ${DEFAULT-VALUE}).", defaultValue = "10")
        int top;

        @Override
        public Integer call() {
            if (thp != null && !thp.equals("always")) {
                throw new PtlabException("--thp: only 'always' is a what-if (got '" + thp + "')");
            }
            if (top < 0) {
                throw new PtlabException("--top must not be negative: " + top);
            }
            List<Architecture> whatArchs = new ArrayList<>();
            for (String a : archs) {
                whatArchs.add(Architectures.byName(a));
            }
            if (html != null) {
                OutputFiles.checkWritable("--html", html);
            }
            Snapshot snap = Snapshot.load(dir);
            Architecture base = Architectures.defaultArch();
            Analysis a = Analysis.of(Rebuild.run(snap, base, false));
            List<Analysis> whatIfs = new ArrayList<>();
            if (thp != null) {
                whatIfs.add(Analysis.of(Rebuild.run(snap, base, true)));
            }
            for (Architecture w : whatArchs) {
                whatIfs.add(Analysis.of(Rebuild.run(snap, w, false)));
            }
            if (html != null) {
                OutputFiles.write("--html", html, HtmlReport.render(a, whatIfs, top));
            }
            TextReport.print(spec.commandLine().getOut(), a, whatIfs, top);
            return 0;
        }
    }
}
