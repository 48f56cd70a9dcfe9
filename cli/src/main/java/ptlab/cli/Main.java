package ptlab.cli;

import java.io.PrintWriter;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import ptlab.PtlabException;

/**
 * {@code ptlab}: the command-line entry point. Every subcommand reports bad input as one line
 * on stderr and exit status 2 ({@link #EXIT_USAGE}); a stack trace is never shown for it.
 */
@Command(
        name = "ptlab",
        mixinStandardHelpOptions = true,
        versionProvider = Main.Version.class,
        description = "The Linux page-table subsystem, simulated: run scenarios, replay traces against the kernel's answers, analyze real processes, dump and check page tables.",
        subcommands = {CommandLine.HelpCommand.class, SimulateCommand.class, ReplayCommand.class, ArchCommand.class, DumpCommand.class,
                SnapshotCommand.class, CheckCommand.class})
public final class Main implements Callable<Integer> {
    /** Exit status for bad input (unknown option, malformed file, bad argument). */
    public static final int EXIT_USAGE = 2;

    @Override
    public Integer call() {
        new CommandLine(this).usage(System.out);
        return 0;
    }

    public static void main(String[] args) {
        System.exit(run(args, new PrintWriter(System.out, true), new PrintWriter(System.err, true)));
    }

    /** Runs the CLI with the given streams; returns the exit status (tests call this). */
    public static int run(String[] args, PrintWriter out, PrintWriter err) {
        CommandLine cl = new CommandLine(new Main());
        cl.setOut(out);
        cl.setErr(err);
        cl.setExecutionExceptionHandler((ex, cmd, parsed) -> {
            if (ex instanceof PtlabException) {
                cmd.getErr().println("ptlab: " + ex.getMessage());
                cmd.getErr().flush();
                return EXIT_USAGE;
            }
            throw ex;
        });
        cl.setParameterExceptionHandler((ex, a) -> {
            ex.getCommandLine().getErr().println("ptlab: " + ex.getMessage());
            ex.getCommandLine().getErr().flush();
            return EXIT_USAGE;
        });
        int rc = cl.execute(args);
        out.flush();
        err.flush();
        return rc;
    }

    /** Reads the version Maven filtered into the jar. */
    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() throws Exception {
            java.util.Properties p = new java.util.Properties();
            try (var in = Main.class.getResourceAsStream("/ptlab/cli/version.properties")) {
                if (in != null) {
                    p.load(in);
                }
            }
            return new String[] {"ptlab " + p.getProperty("version", "unknown") + " (Java " + System.getProperty("java.version") + ")"};
        }
    }
}
