package ptlab.diff;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringReader;
import java.io.StringWriter;
import java.util.List;
import java.util.Objects;
import ptlab.pgtable.KernelConfig;
import ptlab.check.Checker;
import ptlab.cpu.Violation;
import ptlab.trace.Replayer;
import ptlab.trace.TraceParser;

/**
 * One trace run on both sides: the live kernel ({@link KernelOracle}) and ptlab
 * ({@link Replayer}, as {@code ptlab.trace.Replay#run} does it), with the step-by-step verdict and a side-by-side rendering.
 *
 * @param trace       the trace
 * @param kernel      lines printed by the kernel driver
 * @param replay      lines the replay printed; empty if it threw
 * @param replayError what the replay (or the invariant checks after it) threw, or null
 */
record Comparison(Trace trace, List<String> kernel, List<String> replay, Throwable replayError) {
    /** The configuration that models this machine's kernel: the defaults with its RAM, sysctls and PKU. */
    static final KernelConfig CONFIG = ptlab.pgtable.HostMachine.config();

    Comparison {
        kernel = List.copyOf(kernel);
        replay = List.copyOf(replay);
    }

    /** Runs {@code trace} on both sides. */
    static Comparison run(Trace trace) {
        return of(trace, KernelOracle.run(trace.text()));
    }

    /**
     * Runs {@code trace} on ptlab and pairs the result with an already known kernel output. After
     * the last step the page-reference audit runs, then the process exits and the audit and the
     * invariant checker run again: a violation is a mismatch (thrown as an AssertionError) even
     * where every printed line agrees with the kernel's.
     */
    static Comparison of(Trace trace, List<String> kernel) {
        try {
            Replayer r = new Replayer(CONFIG, trace.name());
            List<String> out = r.run(TraceParser.parse(trace.name(), new StringReader(trace.text())));
            r.kernel().auditPageRefs(); // recorded in the log the checker reports
            r.finish();
            r.kernel().auditPageRefs();
            List<Violation> bad = Checker.checkDrained(r.kernel().pageTables());
            if (!bad.isEmpty()) {
                throw new AssertionError(bad.size() + " invariant violation(s) after the trace, first: " + bad.subList(0, Math.min(3, bad.size())));
            }
            return new Comparison(trace, kernel, out == null ? List.of("<Replayer.run returned null>") : out, null);
        } catch (IOException | RuntimeException | AssertionError | StackOverflowError | LinkageError e) {
            // Anything the replay engine throws is a mismatch to report, not a reason to stop the run.
            return new Comparison(trace, kernel, List.of(), e);
        }
    }

    boolean matches() {
        return replayError == null && kernel.equals(replay);
    }

    /** 1-based step of the first line that differs (or is missing on one side); 0 if none. */
    int firstDifference() {
        int n = Math.max(kernel.size(), replay.size());
        for (int i = 0; i < n; i++) {
            if (i >= kernel.size() || i >= replay.size() || !kernel.get(i).equals(replay.get(i))) {
                return i + 1;
            }
        }
        return replayError != null ? 1 : 0;
    }

    /** A short one-line description of the first difference. */
    String headline() {
        if (replayError != null) {
            return "ptlab threw " + replayError;
        }
        int k = firstDifference();
        return k == 0 ? "no difference" : "first difference at step " + k + ": kernel '" + line(kernel, k) + "', ptlab '" + line(replay, k) + "'";
    }

    /**
     * What kind of mismatch this is, to report one trace per kind: the exception type and message
     * without numbers, or the operation at the first differing step and which side failed there.
     */
    String signature() {
        if (replayError != null) {
            String m = String.valueOf(replayError.getMessage()).replace(trace.name(), "");
            return replayError.getClass().getSimpleName() + ": " + m.replaceAll("0x[0-9a-fA-F]+|\\d+", "#");
        }
        int k = firstDifference();
        String op = k >= 1 && k <= trace.size() ? trace.steps().get(k - 1).split(" ")[0] : "(end)";
        return op + " kernel:" + shape(line(kernel, k)) + " ptlab:" + shape(line(replay, k));
    }

    private static String line(List<String> lines, int step) {
        return step >= 1 && step <= lines.size() ? lines.get(step - 1) : "-";
    }

    private static String shape(String line) {
        return line.equals("-") ? "missing" : line.contains("err=") ? line.replaceAll("^\\S+ \\S+ ", "") : "ok";
    }

    /** The trace with both outputs beside each step, differing steps marked. */
    String sideBySide() {
        int opWidth = 10;
        for (String s : trace.steps()) {
            opWidth = Math.max(opWidth, s.length());
        }
        StringBuilder sb = new StringBuilder();
        String fmt = "%4s  %-" + opWidth + "s  %-18s %-18s%s%n";
        sb.append(String.format(fmt, "step", "operation", "kernel", "ptlab", ""));
        int n = Math.max(trace.size(), Math.max(kernel.size(), replay.size()));
        for (int i = 0; i < n; i++) {
            String k = i < kernel.size() ? kernel.get(i) : "-";
            String r = i < replay.size() ? replay.get(i) : "-";
            String op = i < trace.size() ? trace.steps().get(i) : "";
            sb.append(String.format(fmt, i + 1, op, k, r, Objects.equals(k, r) ? "" : "   <<<"));
        }
        if (replayError != null) {
            StringWriter w = new StringWriter();
            replayError.printStackTrace(new PrintWriter(w));
            sb.append("ptlab threw:\n");
            for (String line : w.toString().split("\n")) {
                if (line.contains("at ptlab.diff.")) {
                    break; // the rest is this harness and JUnit
                }
                sb.append("    ").append(line.stripTrailing()).append('\n');
            }
        }
        return sb.toString();
    }
}
