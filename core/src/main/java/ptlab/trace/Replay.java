package ptlab.trace;

import java.io.IOException;
import java.io.Reader;
import java.util.List;
import ptlab.pgtable.KernelConfig;

/**
 * {@code ptlab replay}: runs a trace (the language of {@code shared/tools/README.md}) on a
 * simulated kernel and returns exactly the lines the kernel driver {@code ktrace} prints.
 */
public final class Replay {
    private Replay() {}

    /**
     * Parses and replays {@code in}.
     *
     * @param name file name used in error messages ({@code FILE:LINE: reason})
     * @throws TraceSyntaxException on a malformed line or a range outside the user address space
     *     (nothing is replayed then)
     */
    public static List<String> run(String name, Reader in, KernelConfig config) throws IOException {
        List<TraceOp> ops = TraceParser.parse(name, in);
        return new Replayer(config, name).run(ops);
    }
}
