package ptlab.diff;

import java.util.ArrayList;
import java.util.List;

/**
 * Shrinks a mismatching trace for the failure message: first to the shortest failing prefix,
 * then (greedily) by deleting single steps that are not needed for the mismatch.
 *
 * <p>Both sides are rerun on every candidate; the kernel side is deterministic for these traces,
 * so a prefix of a trace prints a prefix of its output and the first differing step is normally
 * the answer. The reruns confirm it, and also find the failing prefix when ptlab misbehaves only
 * on longer traces (an exception at the end, a missing line).
 */
final class Shrinker {
    /** Cap on reruns for the step-deletion pass; a 60-step trace needs at most 60. */
    private static final int MAX_DELETION_RUNS = 80;

    private Shrinker() {}

    /** The shortest prefix of {@code failing.trace()} that still mismatches (the whole trace if none is shorter). */
    static Comparison shortestFailingPrefix(Comparison failing) {
        Trace t = failing.trace();
        int first = Math.max(1, Math.min(failing.firstDifference(), t.size()));
        // Walk down while shorter prefixes still fail (they should not, but nothing is assumed),
        // otherwise up until one fails.
        Comparison best = null;
        for (int n = first; n >= 1; n--) {
            Comparison c = Comparison.run(t.prefix(n));
            if (c.matches()) {
                break;
            }
            best = c;
        }
        for (int n = first + 1; best == null && n <= t.size(); n++) {
            Comparison c = Comparison.run(t.prefix(n));
            if (!c.matches()) {
                best = c;
            }
        }
        return best != null ? best : failing;
    }

    /**
     * Greedily deletes steps (last to first, except the failing last step) while the trace still
     * mismatches somewhere, then cuts it to its shortest failing prefix again.
     */
    static Comparison reduce(Comparison failingPrefix) {
        Comparison best = failingPrefix;
        int runs = 0;
        for (int i = best.trace().size() - 2; i >= 0 && runs < MAX_DELETION_RUNS; i--, runs++) {
            List<String> steps = new ArrayList<>(best.trace().steps());
            steps.remove(i);
            Comparison c = Comparison.run(new Trace(failingPrefix.trace().name() + " reduced", steps));
            if (!c.matches()) {
                best = c;
            }
        }
        return best == failingPrefix ? best : shortestFailingPrefix(best);
    }
}
