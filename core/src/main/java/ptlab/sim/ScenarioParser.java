package ptlab.sim;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.Reader;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import ptlab.trace.TraceOp;
import ptlab.trace.TraceParser;
import ptlab.trace.TraceSyntaxException;

/**
 * Parses the scenario language of {@code ptlab simulate --scenario FILE}: the trace language
 * of {@code shared/tools/README.md} for process work, plus kernel-side and process steps (see
 * {@link Step}). {@code #} starts a comment. Errors are {@code FILE:LINE: reason}. Process names
 * are checked statically: a step naming a process that does not exist at that point, or a
 * trace line before any {@code process}, is an error before anything runs.
 */
public final class ScenarioParser {
    private ScenarioParser() {}

    public static List<Step> parse(String file, Reader in) throws IOException {
        BufferedReader r = new BufferedReader(in);
        List<Step> steps = new ArrayList<>();
        String raw;
        int line = 0;
        while ((raw = r.readLine()) != null) {
            line++;
            String text = TraceParser.code(file, line, raw);
            if (text.isEmpty()) {
                continue;
            }
            steps.add(parseLine(file, line, text.split("[ \\t]+"), text));
        }
        return checkOrder(file, steps);
    }

    /**
     * The checks a scenario's order must pass before anything runs, for parsed files and for
     * step lists built in code ({@link Simulation#run} calls it): {@code boot} at most once and
     * before the first process, {@code split-linear} and {@code hotadd} after it, every process
     * named where it exists, a current process for trace steps. Returns the steps with each
     * {@code exit} naming its process.
     *
     * @throws TraceSyntaxException {@code FILE:LINE: reason} for the first step out of order
     */
    public static List<Step> checkOrder(String file, List<Step> in) {
        List<Step> steps = new ArrayList<>(in.size());
        Set<String> alive = new HashSet<>();
        String current = null;
        boolean booted = false;
        boolean everProcess = false;
        for (Step s : in) {
            int line = s.line();
            if (s instanceof Step.Boot) {
                if (booted) {
                    throw new TraceSyntaxException(file, line, "boot: the machine is already booted");
                }
                if (everProcess) {
                    throw new TraceSyntaxException(file, line, "boot: must come before the first process, as a real boot does");
                }
                booted = true;
            } else if ((s instanceof Step.SplitLinear || s instanceof Step.HotAdd) && !booted) {
                throw new TraceSyntaxException(file, line, (s instanceof Step.HotAdd ? "hotadd" : "split-linear") + ": needs 'boot' first");
            }
            if (s instanceof Step.NewProcess) {
                everProcess = true;
                String n = name(file, line, ((Step.NewProcess) s).name());
                if (!alive.add(n)) {
                    throw new TraceSyntaxException(file, line, "process '" + n + "' already exists");
                }
                current = n;
            } else if (s instanceof Step.Fork) {
                need(file, line, current);
                String n = name(file, line, ((Step.Fork) s).child());
                if (!alive.add(n)) {
                    throw new TraceSyntaxException(file, line, "process '" + n + "' already exists");
                }
            } else if (s instanceof Step.Use) {
                String n = ((Step.Use) s).name();
                if (n == null || !alive.contains(n)) {
                    throw new TraceSyntaxException(file, line, "no process '" + n + "' here");
                }
                current = n;
            } else if (s instanceof Step.Exit) {
                String n = ((Step.Exit) s).name() != null ? ((Step.Exit) s).name() : current;
                need(file, line, n);
                if (!alive.remove(n)) {
                    throw new TraceSyntaxException(file, line, "no process '" + n + "' here");
                }
                if (n.equals(current)) {
                    current = null;
                }
                s = new Step.Exit(line, n);
            } else if (s instanceof Step.Trace || s instanceof Step.Parallel) {
                need(file, line, current);
                if (s instanceof Step.Parallel) {
                    Step.Parallel par = (Step.Parallel) s;
                    if (par.cpus() < 1 || par.cpus() > 64) {
                        throw new TraceSyntaxException(file, line, "parallel: bad count " + par.cpus() + " (1 to 64)");
                    }
                    if (par.op() instanceof TraceOp.Fork) {
                        throw new TraceSyntaxException(file, line, "parallel: fork cannot run on several CPUs at once");
                    }
                }
            }
            steps.add(s);
        }
        return steps;
    }

    private static void need(String file, int line, String current) {
        if (current == null) {
            throw new TraceSyntaxException(file, line, "no current process (start one with 'process NAME')");
        }
    }

    private static Step parseLine(String file, int line, String[] w, String text) {
        switch (w[0]) {
            case "boot":
                args(file, line, w, 0, 0);
                return new Step.Boot(line);
            case "split-linear":
                if (w.length == 1) {
                    return new Step.SplitLinear(line, 0, 0);
                }
                args(file, line, w, 2, 2);
                return new Step.SplitLinear(line, size(file, line, w[1], "offset", true), size(file, line, w[2], "length", false));
            case "hotadd":
                args(file, line, w, 1, 2);
                if (w.length == 3 && !w[2].equals("far")) {
                    throw new TraceSyntaxException(file, line, "hotadd: expected 'far' or nothing after the size, got '" + w[2] + "'");
                }
                return new Step.HotAdd(line, size(file, line, w[1], "size", false), w.length == 3);
            case "walkers": {
                args(file, line, w, 1, 1);
                return new Step.Walkers(line, count(file, line, w[1], 0, 64));
            }
            case "process":
                args(file, line, w, 1, 1);
                return new Step.NewProcess(line, name(file, line, w[1]));
            case "use":
                args(file, line, w, 1, 1);
                return new Step.Use(line, name(file, line, w[1]));
            case "exit":
                args(file, line, w, 0, 1);
                return new Step.Exit(line, w.length > 1 ? name(file, line, w[1]) : null);
            case "check":
                args(file, line, w, 0, 0);
                return new Step.Check(line);
            case "parallel": {
                if (w.length < 3) {
                    throw new TraceSyntaxException(file, line, "parallel: usage 'parallel N OPERATION ...'");
                }
                int n = count(file, line, w[1], 1, 64);
                String rest = text.substring(text.indexOf(w[2], text.indexOf(w[1]) + w[1].length()));
                TraceOp op = TraceParser.parseLine(file, line, rest);
                if (op instanceof TraceOp.Fork) {
                    throw new TraceSyntaxException(file, line, "parallel: fork cannot run on several CPUs at once");
                }
                return new Step.Parallel(line, n, op);
            }
            case "fork":
                args(file, line, w, 0, 1); // "fork" (the trace operation) or "fork NAME"
                if (w.length == 2) {
                    return new Step.Fork(line, name(file, line, w[1]));
                }
                return new Step.Trace(line, TraceParser.parseLine(file, line, text));
            default:
                if (!TraceParser.isOperation(w[0])) {
                    throw new TraceSyntaxException(file, line, "unknown step '" + w[0]
                            + "' (boot, split-linear, hotadd, walkers, process, use, fork, exit, parallel, check, or a trace operation)");
                }
                return new Step.Trace(line, TraceParser.parseLine(file, line, text));
        }
    }

    private static void args(String file, int line, String[] w, int min, int max) {
        int n = w.length - 1;
        if (n < min || n > max) {
            throw new TraceSyntaxException(file, line, w[0] + ": expected " + (min == max ? Integer.toString(min) : min + " to " + max)
                    + " argument(s), got " + n);
        }
    }

    private static String name(String file, int line, String s) {
        if (s == null || !s.matches("[A-Za-z_][A-Za-z0-9_.-]{0,31}")) {
            throw new TraceSyntaxException(file, line, "bad process name '" + s + "' (letters, digits, _ . -; up to 32)");
        }
        return s;
    }

    private static int count(String file, int line, String s, int min, int max) {
        try {
            int n = Integer.parseInt(s);
            if (n >= min && n <= max) {
                return n;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new TraceSyntaxException(file, line, "bad count '" + s + "' (" + min + " to " + max + ")");
    }

    /** A size in the trace language's number syntax, a multiple of 4 KiB (0 allowed only for offsets). */
    static long size(String file, int line, String s, String what, boolean zeroOk) {
        long v = TraceParser.num(file, line, s, what);
        if ((v == 0 && !zeroOk) || (v & 0xfff) != 0) {
            throw new TraceSyntaxException(file, line, what + " " + s + " must be a " + (zeroOk ? "" : "non-zero ") + "multiple of 4K");
        }
        return v;
    }
}
