package ptlab.cli;

import java.util.Locale;
import ptlab.PtlabException;

/**
 * Sizes and offsets on the command line: decimal or hex ({@code 0x...}), with an optional K,
 * M, G or T suffix (either case); blanks around are ignored. One parser for every option.
 */
final class Sizes {
    private Sizes() {}

    /** A positive size. */
    static long parse(String option, String s) {
        long v = parseOffset(option, s);
        if (v == 0) {
            throw bad(option, s);
        }
        return v;
    }

    /** A size or offset that may be 0. */
    static long parseOffset(String option, String s) {
        String t = s.trim().toUpperCase(Locale.ROOT);
        int shift = 0;
        if (!t.isEmpty()) {
            int i = "KMGT".indexOf(t.charAt(t.length() - 1));
            if (i >= 0) {
                shift = 10 * (i + 1);
                t = t.substring(0, t.length() - 1);
            }
        }
        boolean hex = t.startsWith("0X");
        String digits = hex ? t.substring(2) : t;
        if (digits.isEmpty() || !digits.chars().allMatch(c -> (c >= '0' && c <= '9') || (hex && c >= 'A' && c <= 'F'))) {
            throw bad(option, s);
        }
        try {
            long v = hex ? Long.parseUnsignedLong(digits, 16) : Long.parseLong(digits);
            if (v < 0 || Long.numberOfLeadingZeros(v) <= shift) {
                throw new NumberFormatException();
            }
            return v << shift;
        } catch (NumberFormatException e) {
            throw bad(option, s);
        }
    }

    private static PtlabException bad(String option, String s) {
        return new PtlabException(option + ": bad size '" + s + "' (a positive number, decimal or 0x hex, with an optional K, M, G or T)");
    }

    /** {@code bytes} in the largest unit that divides it: 64G, 512M, 4096. */
    static String format(long bytes) {
        String[] units = {"T", "G", "M", "K"};
        for (int i = 0; i < units.length; i++) {
            int shift = 40 - 10 * i;
            if (bytes != 0 && (bytes & ((1L << shift) - 1)) == 0) {
                return (bytes >>> shift) + units[i];
            }
        }
        return Long.toString(bytes);
    }
}
