package ptlab.snapshot;

import java.util.ArrayList;
import java.util.List;

/**
 * Parser of {@code /proc/PID/maps} ({@code show_map_vma} in {@code fs/proc/task_mmu.c}). It
 * accepts exactly what the kernel writes: lowercase-or-uppercase hex ranges, page aligned,
 * ascending and disjoint, every line ending in a newline. Anything else is a
 * {@link SnapshotFormatException} naming the file and line.
 */
public final class MapsParser {
    private MapsParser() {}

    public static List<MapsEntry> parse(String file, String text) {
        List<MapsEntry> out = new ArrayList<>();
        if (text.isEmpty()) {
            return out;
        }
        if (!text.endsWith("\n")) {
            int lines = text.split("\n", -1).length;
            throw new SnapshotFormatException(file, lines, "truncated: the last line has no newline");
        }
        String[] lines = text.substring(0, text.length() - 1).split("\n", -1);
        long prevEnd = 0;
        for (int i = 0; i < lines.length; i++) {
            MapsEntry e = parseLine(file, i + 1, lines[i]);
            if (!out.isEmpty() && Long.compareUnsigned(e.start(), prevEnd) < 0) {
                throw new SnapshotFormatException(file, i + 1, "mapping " + e.label() + " overlaps or precedes the one before it");
            }
            prevEnd = e.end();
            out.add(e);
        }
        return out;
    }

    /** One maps line (also the header line of an smaps block). */
    static MapsEntry parseLine(String file, int ln, String line) {
        Fields f = new Fields(file, ln, line);
        String range = f.next("address range");
        int dash = range.indexOf('-');
        if (dash <= 0) {
            throw f.bad("malformed address range '" + Fields.clip(range) + "'");
        }
        long start = f.hex(range.substring(0, dash), "start address");
        long end = f.hex(range.substring(dash + 1), "end address");
        if ((start & 0xfff) != 0 || (end & 0xfff) != 0) {
            throw f.bad("address range " + Fields.clip(range) + " is not 4 KiB aligned");
        }
        if (Long.compareUnsigned(start, end) >= 0) {
            throw f.bad("address range " + Fields.clip(range) + " is empty or inverted");
        }
        String perms = f.next("permissions");
        if (perms.length() != 4 || "r-".indexOf(perms.charAt(0)) < 0 || "w-".indexOf(perms.charAt(1)) < 0
                || "x-".indexOf(perms.charAt(2)) < 0 || "ps".indexOf(perms.charAt(3)) < 0) {
            throw f.bad("malformed permissions '" + Fields.clip(perms) + "' (want [r-][w-][x-][ps])");
        }
        long offset = f.hex(f.next("offset"), "offset");
        String dev = f.next("device");
        int colon = dev.indexOf(':');
        if (colon <= 0 || colon == dev.length() - 1) {
            throw f.bad("malformed device '" + Fields.clip(dev) + "' (want MAJOR:MINOR in hex)");
        }
        f.hex(dev.substring(0, colon), "device major");
        f.hex(dev.substring(colon + 1), "device minor");
        String inodeText = f.next("inode");
        long inode = f.decimal(inodeText, "inode");
        String path = f.rest();
        return new MapsEntry(ln, start, end, perms.charAt(0) == 'r', perms.charAt(1) == 'w', perms.charAt(2) == 'x',
                perms.charAt(3) == 's', offset, dev, inode, path);
    }

    /** A cursor over the space-separated fields of one line. */
    static final class Fields {
        private final String file;
        private final int ln;
        private final String line;
        private int pos;

        Fields(String file, int ln, String line) {
            this.file = file;
            this.ln = ln;
            this.line = line;
        }

        String next(String what) {
            while (pos < line.length() && line.charAt(pos) == ' ') {
                pos++;
            }
            int s = pos;
            while (pos < line.length() && line.charAt(pos) != ' ') {
                pos++;
            }
            if (s == pos) {
                throw bad("missing " + what);
            }
            return line.substring(s, pos);
        }

        String rest() {
            while (pos < line.length() && line.charAt(pos) == ' ') {
                pos++;
            }
            return line.substring(pos);
        }

        long hex(String s, String what) {
            if (s.isEmpty() || s.length() > 16) {
                throw bad("malformed " + what + " '" + clip(s) + "'");
            }
            for (int i = 0; i < s.length(); i++) {
                char c = s.charAt(i);
                if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) {
                    throw bad("malformed " + what + " '" + clip(s) + "' (not hex)");
                }
            }
            return Long.parseUnsignedLong(s, 16);
        }

        /** A non-negative ASCII decimal that fits in a signed long. */
        long decimal(String s, String what) {
            if (s.isEmpty() || s.length() > 18) {
                throw bad("malformed " + what + " '" + clip(s) + "'");
            }
            long v = 0;
            for (int i = 0; i < s.length(); i++) {
                char c = s.charAt(i);
                if (c < '0' || c > '9') {
                    throw bad("malformed " + what + " '" + clip(s) + "' (not a decimal number)");
                }
                v = v * 10 + (c - '0');
            }
            return v;
        }

        SnapshotFormatException bad(String reason) {
            return new SnapshotFormatException(file, ln, reason);
        }

        /** Quotes at most 40 printable characters of untrusted text. */
        static String clip(String s) {
            StringBuilder b = new StringBuilder();
            for (int i = 0; i < s.length() && b.length() < 40; i++) {
                char c = s.charAt(i);
                b.append(c >= 0x20 && c < 0x7f ? c : '?');
            }
            return s.length() > 40 ? b + "..." : b.toString();
        }
    }
}
