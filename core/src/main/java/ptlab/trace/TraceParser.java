package ptlab.trace;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.Reader;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Parser of the trace language ({@code shared/tools/README.md}): one operation a line,
 * {@code #} starts a comment, numbers hex ({@code 0x}) or decimal with an optional
 * {@code K}/{@code M}/{@code G} suffix. Stricter than the C driver on purpose: an unknown
 * word, a missing or extra argument, or a bad number is an error naming file and line.
 */
public final class TraceParser {
    private TraceParser() {}

    public static List<TraceOp> parse(String file, Reader in) throws IOException {
        BufferedReader r = new BufferedReader(in);
        List<TraceOp> ops = new ArrayList<>();
        String raw;
        int lineNo = 0;
        while ((raw = r.readLine()) != null) {
            lineNo++;
            String text = code(file, lineNo, raw);
            if (text.isEmpty()) {
                continue;
            }
            TraceOp op = parseLine(file, lineNo, text.split("[ \\t]+"));
            checkAligned(file, lineNo, op);
            ops.add(op);
        }
        return ops;
    }

    /**
     * Parses one trace line that is not blank or a comment (words separated by blanks), as
     * {@link #parse} does; for languages that embed the trace language (simulate scenarios).
     *
     * @throws TraceSyntaxException {@code FILE:LINE: reason}
     */
    public static TraceOp parseLine(String file, int line, String text) {
        String code = code(file, line, text);
        if (code.isEmpty()) {
            throw new TraceSyntaxException(file, line, "no operation on the line");
        }
        TraceOp op = parseLine(file, line, code.split("[ \\t]+"));
        checkAligned(file, line, op);
        return op;
    }

    /**
     * The text of a line without its {@code #} comment, trimmed (empty for a blank or comment
     * line); for this parser and the languages that embed it.
     *
     * @throws TraceSyntaxException {@code FILE:LINE:} a character outside printable ASCII and tab
     */
    public static String code(String file, int line, String raw) {
        int hash = raw.indexOf('#');
        String code = hash >= 0 ? raw.substring(0, hash) : raw;
        String bad = ptlab.TextInput.badCharacter(code);
        if (bad != null) {
            throw new TraceSyntaxException(file, line, bad);
        }
        return code.trim();
    }

    /** Whether {@code word} starts a line of the trace language. */
    public static boolean isOperation(String word) {
        switch (word) {
            case "mmap":
            case "touch":
            case "munmap":
            case "mprotect":
            case "madvise":
            case "fork":
                return true;
            default:
                return false;
        }
    }

    private static TraceOp parseLine(String file, int line, String[] t) {
        String op = t[0];
        switch (op) {
            case "mmap": {
                need(file, line, t, 3, 6);
                int prot = 3;
                boolean shared = false;
                int thp = 0;
                boolean protSeen = false;
                for (int i = 3; i < t.length; i++) {
                    String w = t[i];
                    if (w.equals("shared")) {
                        shared = dup(file, line, shared, w);
                    } else if (w.equals("thp") || w.equals("nothp")) {
                        if (thp != 0) {
                            throw new TraceSyntaxException(file, line, "'" + w + "' given twice or with its opposite");
                        }
                        thp = w.equals("thp") ? 1 : -1;
                    } else {
                        // The word must be a protection before it can be a second one: an unknown
                        // word is reported as such, not as a conflict with the protection before it.
                        prot = prot(file, line, w);
                        protSeen = dup(file, line, protSeen, w);
                    }
                }
                return new TraceOp.Mmap(line, num(file, line, t[1], "address"), num(file, line, t[2], "length"), prot, shared, thp);
            }
            case "touch": {
                need(file, line, t, 3, 4);
                boolean write = true;
                if (t.length == 4) {
                    if (t[3].equals("read")) {
                        write = false;
                    } else if (!t[3].equals("write")) {
                        throw new TraceSyntaxException(file, line, "touch mode must be read or write, not " + quote(t[3]));
                    }
                }
                return new TraceOp.Touch(line, num(file, line, t[1], "address"), num(file, line, t[2], "length"), write);
            }
            case "munmap":
                need(file, line, t, 3, 3);
                return new TraceOp.Munmap(line, num(file, line, t[1], "address"), num(file, line, t[2], "length"));
            case "mprotect":
                need(file, line, t, 4, 4);
                return new TraceOp.Mprotect(line, num(file, line, t[1], "address"), num(file, line, t[2], "length"),
                        prot(file, line, t[3]));
            case "madvise": {
                need(file, line, t, 4, 4);
                // Lower case only, as the kernel driver compares them (strcmp): it would pass
                // "DONTNEED" to madvise as advice -1 and print err=22.
                TraceOp.Advice a = t[3].equals(t[3].toLowerCase(Locale.ROOT)) ? advice(t[3]) : null;
                if (a == null) {
                    throw new TraceSyntaxException(file, line, "unknown madvise advice " + quote(t[3])
                            + " (dontneed, hugepage, nohugepage, collapse)");
                }
                return new TraceOp.Madvise(line, num(file, line, t[1], "address"), num(file, line, t[2], "length"), a);
            }
            case "fork":
                need(file, line, t, 1, 1);
                return new TraceOp.Fork(line);
            default:
                throw new TraceSyntaxException(file, line, "unknown operation " + quote(op)
                        + " (mmap, touch, munmap, mprotect, madvise, fork)");
        }
    }

    /**
     * Range operations take page-aligned addresses: a misaligned one is a mistake in the trace,
     * reported as bad input rather than replayed as the kernel's EINVAL. {@code touch} takes any address.
     */
    private static void checkAligned(String file, int line, TraceOp op) {
        long addr;
        if (op instanceof TraceOp.Mmap) {
            addr = ((TraceOp.Mmap) op).addr();
        } else if (op instanceof TraceOp.Munmap) {
            addr = ((TraceOp.Munmap) op).addr();
        } else if (op instanceof TraceOp.Mprotect) {
            addr = ((TraceOp.Mprotect) op).addr();
        } else if (op instanceof TraceOp.Madvise) {
            addr = ((TraceOp.Madvise) op).addr();
        } else {
            return;
        }
        if ((addr & 0xfff) != 0) {
            throw new TraceSyntaxException(file, line, "address 0x" + Long.toHexString(addr) + " is not aligned to a 4 KiB page");
        }
    }

    /** A word of the input in quotes for a message, cut at 40 characters: the message stays one readable line. */
    static String quote(String w) {
        return "'" + (w.length() > 40 ? w.substring(0, 40) + "...' (" + w.length() + " characters)" : w + "'");
    }

    private static boolean dup(String file, int line, boolean seen, String w) {
        if (seen) {
            throw new TraceSyntaxException(file, line, "'" + w + "' conflicts with an earlier word of the same kind");
        }
        return true;
    }

    private static void need(String file, int line, String[] t, int min, int max) {
        if (t.length < min) {
            throw new TraceSyntaxException(file, line, t[0] + ": missing argument (expected " + (min - 1)
                    + (max > min ? " to " + (max - 1) : "") + ")");
        }
        if (t.length > max) {
            throw new TraceSyntaxException(file, line, t[0] + ": unexpected argument " + quote(t[max]));
        }
    }

    /** Linux PROT_* bits of {@code none} or a combination of r, w, x. */
    static int prot(String file, int line, String s) {
        if (s.equals("none")) {
            return 0;
        }
        int p = 0;
        for (char c : s.toCharArray()) {
            int bit = c == 'r' ? 1 : c == 'w' ? 2 : c == 'x' ? 4 : -1;
            if (bit < 0 || (p & bit) != 0) {
                throw new TraceSyntaxException(file, line, "bad protection " + quote(s) + " (none, or letters r, w, x)");
            }
            p |= bit;
        }
        return p;
    }

    private static TraceOp.Advice advice(String w) {
        for (TraceOp.Advice a : TraceOp.Advice.values()) {
            if (a.name().toLowerCase(Locale.ROOT).equals(w)) {
                return a;
            }
        }
        return null;
    }

    /**
     * A number of the trace language: hex ({@code 0x...}) or decimal, with an optional K, M or
     * G suffix (either case). Public for languages that embed the trace language.
     *
     * <p>Digits are ASCII only, and a decimal number does not start with {@code 0}: the kernel
     * driver reads numbers with {@code strtoul(s, &e, 0)}, which takes {@code 010} as octal 8,
     * so such a number would silently differ from the driver's reading of the same trace.
     *
     * @throws TraceSyntaxException {@code FILE:LINE: bad WHAT 'S'} or {@code ... is out of range}
     */
    public static long num(String file, int line, String s, String what) {
        String body = s;
        int shift = 0;
        char last = s.isEmpty() ? ' ' : Character.toUpperCase(s.charAt(s.length() - 1));
        if (last == 'K' || last == 'M' || last == 'G') {
            shift = last == 'K' ? 10 : last == 'M' ? 20 : 30;
            body = s.substring(0, s.length() - 1);
        }
        boolean hex = body.startsWith("0x") || body.startsWith("0X");
        String digits = hex ? body.substring(2) : body;
        if (!hex && digits.length() > 1 && digits.charAt(0) == '0' && digits.chars().allMatch(c -> c >= '0' && c <= '9')) {
            throw new TraceSyntaxException(file, line, "bad " + what + " " + quote(s)
                    + ": a leading 0 makes it octal for the kernel driver (write it in decimal without the 0, or in hex with 0x)");
        }
        long v;
        try {
            if (digits.isEmpty() || !digits.chars().allMatch(c -> (c >= '0' && c <= '9') || (hex && ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')))) {
                throw new NumberFormatException();
            }
            v = hex ? Long.parseUnsignedLong(digits, 16) : Long.parseLong(digits);
        } catch (NumberFormatException e) {
            throw new TraceSyntaxException(file, line, "bad " + what + " " + quote(s));
        }
        if (v < 0 || (shift > 0 && (v >>> (63 - shift)) != 0)) {
            throw new TraceSyntaxException(file, line, what + " " + quote(s) + " is out of range");
        }
        return v << shift;
    }
}
