package ptlab.cli;

import java.io.PrintWriter;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
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
        description = "The Linux page-table subsystem, simulated: run scenarios, replay traces against the kernel's answers, analyze real processes, dump and check page tables.")
public final class Main implements Callable<Integer> {
    /** Exit status for bad input (unknown option, malformed file, bad argument). */
    public static final int EXIT_USAGE = 2;

    /**
     * The subcommands, in help order. They are registered here rather than in the
     * {@code @Command} annotation so that a run of one subcommand builds only that one's
     * model: picocli reads every registered command's annotations up front, which was
     * ~200 ms of a 0.4 s {@code ptlab replay} (issue 4 times whole runs, JVM start included).
     */
    private static final Map<String, Supplier<Object>> SUBCOMMANDS = new LinkedHashMap<>();

    static {
        SUBCOMMANDS.put("help", HelpCommand::new);
        SUBCOMMANDS.put("simulate", SimulateCommand::new);
        SUBCOMMANDS.put("replay", ReplayCommand::new);
        SUBCOMMANDS.put("arch", ArchCommand::new);
        SUBCOMMANDS.put("dump", DumpCommand::new);
        SUBCOMMANDS.put("snapshot", SnapshotCommand::new);
        SUBCOMMANDS.put("check", CheckCommand::new);
    }

    /** The command tree: only {@code args[0]}'s subcommand when it names one, else all (help, errors). */
    static CommandLine commandLine(String[] args) {
        CommandLine cl = new CommandLine(new Main());
        Supplier<Object> only = args.length > 0 && !args[0].equals("help") ? SUBCOMMANDS.get(args[0]) : null;
        if (only != null) {
            cl.addSubcommand(args[0], only.get());
        } else {
            SUBCOMMANDS.forEach((name, make) -> cl.addSubcommand(name, make.get()));
        }
        return cl;
    }

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    /** With no subcommand the whole tree is registered ({@link #commandLine}): print its usage. */
    @Override
    public Integer call() {
        spec.commandLine().usage(spec.commandLine().getOut());
        return 0;
    }

    public static void main(String[] args) {
        System.exit(run(args, new PrintWriter(System.out, true), new PrintWriter(System.err, true)));
    }

    /** Runs the CLI with the given streams; returns the exit status (tests call this). */
    public static int run(String[] args, PrintWriter out, PrintWriter err) {
        CommandLine cl = commandLine(args);
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
            String msg = ex.getMessage();
            CommandLine at = ex.getCommandLine();
            if (ex instanceof CommandLine.UnmatchedArgumentException && !at.getSubcommands().isEmpty()) {
                // A word where a subcommand goes ('ptlab bogus', 'ptlab snapshot bogus'): name the command level's choices.
                List<String> unmatched = ((CommandLine.UnmatchedArgumentException) ex).getUnmatched();
                if (!unmatched.isEmpty() && !unmatched.get(0).startsWith("-") && !at.getSubcommands().containsKey(unmatched.get(0))) {
                    msg = HelpCommand.unknownCommand(at, unmatched.get(0));
                }
            }
            ex.getCommandLine().getErr().println("ptlab: " + msg);
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
