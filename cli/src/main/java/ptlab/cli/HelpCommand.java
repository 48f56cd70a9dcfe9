package ptlab.cli;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Help.ColorScheme;
import picocli.CommandLine.Parameters;

/**
 * {@code help [COMMAND...]}: the usage help of the command that the names lead to from the
 * command this {@code help} belongs to, one level per name ({@code ptlab help snapshot capture}
 * is {@code ptlab snapshot help capture}). A name that is not a subcommand at its level is one
 * line naming the path so far and that level's commands, exit status 2 ({@link Main#EXIT_USAGE}).
 *
 * <p>Implementation note: picocli's own {@code HelpCommand} takes one name ({@code arity 0..1});
 * a second name was left unmatched, which picocli forgives on a help request, so {@code help
 * snapshot capture} printed snapshot's help and exited 0, and {@code help snapshot bogus} did too.
 * This one takes any number of names and walks them through {@code CommandSpec.subcommands()}.
 */
@Command(name = "help", helpCommand = true, header = "Display help information about the specified command.",
        synopsisHeading = "%nUsage: ",
        description = {"%nWhen no COMMAND is given, the usage help for the main command is displayed.",
                "If COMMANDs are given (e.g. 'snapshot capture'), the help for the command they name is shown.%n"})
final class HelpCommand implements CommandLine.IHelpCommandInitializable2, Callable<Integer> {
    @CommandLine.Option(names = {"-h", "--help"}, usageHelp = true, description = "Show usage help for the help command and exit.")
    boolean helpRequested;

    @Parameters(paramLabel = "COMMAND", arity = "0..*", description = "The command, and its subcommands, to show the usage help for.")
    List<String> names = new ArrayList<>();

    private CommandLine self;
    private ColorScheme colors;
    private PrintWriter out;

    @Override
    public void init(CommandLine helpCommandLine, ColorScheme colorScheme, PrintWriter outWriter, PrintWriter errWriter) {
        self = helpCommandLine;
        colors = colorScheme;
        out = outWriter;
    }

    @Override
    public Integer call() {
        CommandLine target = resolve(self.getParent(), names);
        target.usage(out, colors);
        return target.getCommandSpec().exitCodeOnUsageHelp();
    }

    /**
     * The command {@code names} lead to from {@code from}, one subcommand level per name.
     *
     * @throws CommandLine.ParameterException {@code unknown command 'PATH' (...)} for the first name
     *     that is not a subcommand at its level, PATH being the command names from below the root
     *     up to and including it ({@code snapshot bogus} for both {@code help snapshot bogus} and
     *     {@code snapshot help bogus})
     */
    static CommandLine resolve(CommandLine from, List<String> names) {
        CommandLine at = from;
        for (String name : names) {
            CommandLine next = at.getSubcommands().get(name);
            if (next == null) {
                throw new CommandLine.ParameterException(at, unknownCommand(at, name));
            }
            at = next;
        }
        return at;
    }

    /**
     * {@code unknown command 'PATH' (...)}: {@code name} is not a subcommand of {@code at}; PATH
     * is the command names from below the root to {@code name}, then the subcommands of
     * {@code at} (or that it has none). Also Main's message for {@code ptlab snapshot bogus}.
     */
    static String unknownCommand(CommandLine at, String name) {
        List<String> path = pathOf(at);
        String parentPath = String.join(" ", path);
        path.add(name);
        return "unknown command '" + String.join(" ", path) + "' (" + alternatives(at, parentPath) + ")";
    }

    /** The subcommand names that lead from the root to {@code cmd} (none for the root). */
    private static List<String> pathOf(CommandLine cmd) {
        List<String> path = new ArrayList<>();
        for (CommandLine c = cmd; c.getParent() != null; c = c.getParent()) {
            path.add(0, c.getCommandName());
        }
        return path;
    }

    /** The subcommand names of {@code at}, or that it has none ({@code at} being {@code path}, empty at the root). */
    private static String alternatives(CommandLine at, String path) {
        if (at.getSubcommands().isEmpty()) {
            return "'" + path + "' has no subcommands";
        }
        return String.join(", ", at.getSubcommands().keySet());
    }
}
