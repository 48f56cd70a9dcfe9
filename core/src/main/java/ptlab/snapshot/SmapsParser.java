package ptlab.snapshot;

import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Parser of {@code /proc/PID/smaps} ({@code show_smap} in {@code fs/proc/task_mmu.c}): blocks
 * of a maps header line, {@code Key: N [kB]} lines, and a closing {@code VmFlags:} line. A
 * block without its VmFlags line means the file was cut short.
 */
public final class SmapsParser {
    private SmapsParser() {}

    public static List<SmapsEntry> parse(String file, String text) {
        List<SmapsEntry> out = new ArrayList<>();
        if (text.isEmpty()) {
            return out;
        }
        if (!text.endsWith("\n")) {
            throw new SnapshotFormatException(file, text.split("\n", -1).length, "truncated: the last line has no newline");
        }
        String[] lines = text.substring(0, text.length() - 1).split("\n", -1);
        MapsEntry header = null;
        int headerLine = 0;
        Map<String, Long> kb = null;
        long prevEnd = 0;
        for (int i = 0; i < lines.length; i++) {
            String line = lines[i];
            int ln = i + 1;
            int colon = line.indexOf(':');
            boolean keyLine = colon > 0 && isKey(line.substring(0, colon));
            if (!keyLine) {
                if (header != null) {
                    throw new SnapshotFormatException(file, headerLine, "block of " + header.label() + " has no VmFlags line (truncated?)");
                }
                header = MapsParser.parseLine(file, ln, line);
                if (!out.isEmpty() && Long.compareUnsigned(header.start(), prevEnd) < 0) {
                    throw new SnapshotFormatException(file, ln, "mapping " + header.label() + " overlaps or precedes the one before it");
                }
                prevEnd = header.end();
                headerLine = ln;
                kb = new HashMap<>();
                continue;
            }
            if (header == null) {
                throw new SnapshotFormatException(file, ln, "'" + MapsParser.Fields.clip(line) + "' before any mapping header");
            }
            String key = line.substring(0, colon);
            String value = line.substring(colon + 1).trim();
            if (key.equals("VmFlags")) {
                Set<String> flags = new LinkedHashSet<>();
                for (String f : value.split(" +")) {
                    if (f.isEmpty()) {
                        continue;
                    }
                    if (f.length() != 2 || !Character.isLowerCase(f.charAt(0)) && !Character.isDigit(f.charAt(0))) {
                        throw new SnapshotFormatException(file, ln, "malformed VmFlags mnemonic '" + MapsParser.Fields.clip(f) + "'");
                    }
                    flags.add(f);
                }
                out.add(new SmapsEntry(header, Collections.unmodifiableMap(kb), Collections.unmodifiableSet(flags)));
                header = null;
                continue;
            }
            if (kb.containsKey(key)) {
                throw new SnapshotFormatException(file, ln, "duplicate " + key + " in the block of " + header.label());
            }
            kb.put(key, number(file, ln, key, value));
        }
        if (header != null) {
            throw new SnapshotFormatException(file, headerLine, "block of " + header.label() + " has no VmFlags line (truncated?)");
        }
        return out;
    }

    private static boolean isKey(String s) {
        if (s.isEmpty() || s.length() > 40) {
            return false;
        }
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (!(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_')) {
                return false;
            }
        }
        return true;
    }

    /** {@code N kB} or a bare {@code N} (THPeligible, ProtectionKey). */
    private static long number(String file, int ln, String key, String value) {
        String digits = value.endsWith(" kB") ? value.substring(0, value.length() - 3).trim() : value;
        MapsParser.Fields f = new MapsParser.Fields(file, ln, value);
        long v = f.decimal(digits, key + " value");
        if (value.endsWith(" kB") && v > (Long.MAX_VALUE >> 10)) {
            throw new SnapshotFormatException(file, ln, key + " value " + v + " kB is out of range");
        }
        return v;
    }
}
