package ptlab.diff;

import java.util.ArrayList;
import java.util.List;

/**
 * A trace in the language of {@code shared/tools/README.md}: one operation per step, no comments.
 *
 * @param name  where the trace came from (file name, or seed and index of a generated trace)
 * @param steps one operation line per step, e.g. {@code "touch 0x100000000000 2M read"}
 */
record Trace(String name, List<String> steps) {
    Trace {
        steps = List.copyOf(steps);
    }

    /** Parses trace text: drops comments ({@code #} to end of line) and blank lines, normalises blanks. */
    static Trace parse(String name, String text) {
        List<String> steps = new ArrayList<>();
        for (String line : text.split("\n", -1)) {
            int hash = line.indexOf('#');
            String op = (hash >= 0 ? line.substring(0, hash) : line).strip().replaceAll("\\s+", " ");
            if (!op.isEmpty()) {
                steps.add(op);
            }
        }
        return new Trace(name, steps);
    }

    int size() {
        return steps.size();
    }

    /** The first {@code n} steps. */
    Trace prefix(int n) {
        return new Trace(name + "[:" + n + "]", steps.subList(0, n));
    }

    /** Trace text with a comment naming the trace, ready for ktrace/kdriver or {@code ptlab replay}. */
    String text() {
        StringBuilder sb = new StringBuilder("# ").append(name).append('\n');
        for (String s : steps) {
            sb.append(s).append('\n');
        }
        return sb.toString();
    }
}
