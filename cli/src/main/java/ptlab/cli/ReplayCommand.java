package ptlab.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.Reader;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import ptlab.PtlabException;
import ptlab.TextInput;
import ptlab.arch.Level;
import ptlab.pgtable.KernelConfig;
import ptlab.pgtable.PtStats;
import ptlab.trace.Replayer;
import ptlab.trace.TraceOp;
import ptlab.trace.TraceParser;

/**
 * {@code ptlab replay FILE}: the kernel driver's output for a trace, line for line. Statistics
 * go to stderr only ({@code --stats}), never among the compared lines.
 */
@Command(name = "replay", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = "Replay a page-table trace and print the VmPTE delta after every step, as the kernel driver (ktrace) does.")
final class ReplayCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Parameters(paramLabel = "FILE", description = "Trace file, or - for standard input.")
    String file;

    @Mixin
    KernelOptions kernel;

    @Option(names = "--stats", description = "Per-step details (tables per level, frames, TLB flushes, time) on stderr.")
    boolean stats;

    @Override
    public Integer call() {
        KernelConfig config = kernel.config(); // options first: a bad --arch is named before the file is read
        String name = file.equals("-") ? "<stdin>" : file;
        List<TraceOp> ops;
        try (Reader r = open()) {
            ops = TraceParser.parse(name, r);
        } catch (IOException e) {
            throw new PtlabException(name + ": cannot read (" + TextInput.reason(e) + ")", e);
        }
        Replayer rep = new Replayer(config, name);
        rep.validate(ops);
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        for (TraceOp op : ops) {
            long t0 = System.nanoTime();
            String line = rep.step(op);
            out.println(line);
            if (stats) {
                PtStats s = rep.kernel().pageTables().stats();
                StringBuilder b = new StringBuilder("# ").append(line.split(" ")[0]).append(" line ").append(op.line());
                for (Level l : rep.kernel().pageTables().geometry().levels()) {
                    b.append(' ').append(l.kernelName()).append('=').append(s.liveTables(l));
                }
                b.append(" frames=").append(rep.kernel().pageTables().allocator().allocatedFrames());
                b.append(" tlb_flushes=").append(rep.kernel().tlbFlushes());
                b.append(" us=").append((System.nanoTime() - t0) / 1000);
                err.println(b);
            }
        }
        out.flush();
        rep.finish();
        return 0;
    }

    private Reader open() {
        if (file.equals("-")) {
            return TextInput.reader(System.in);
        }
        try {
            return TextInput.open(Path.of(file));
        } catch (java.nio.file.InvalidPathException e) {
            throw new PtlabException("bad file name '" + file + "' (" + e.getReason() + ")");
        }
    }
}
