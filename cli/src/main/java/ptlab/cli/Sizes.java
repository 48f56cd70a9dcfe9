package ptlab.cli;

import ptlab.PtlabException;

/** Sizes on the command line: a number with an optional K, M, G or T suffix. */
final class Sizes {
    private Sizes() {}

    static long parse(String option, String s) {
        if (s.isEmpty()) {
            throw new PtlabException(option + ": empty size");
        }
        char c = Character.toUpperCase(s.charAt(s.length() - 1));
        int shift = c == 'K' ? 10 : c == 'M' ? 20 : c == 'G' ? 30 : c == 'T' ? 40 : 0;
        String digits = shift == 0 ? s : s.substring(0, s.length() - 1);
        try {
            long v = Long.parseLong(digits);
            if (v <= 0 || Long.numberOfLeadingZeros(v) <= shift) {
                throw new NumberFormatException();
            }
            return v << shift;
        } catch (NumberFormatException e) {
            throw new PtlabException(option + ": bad size '" + s + "' (a positive number with K, M, G or T)");
        }
    }
}
