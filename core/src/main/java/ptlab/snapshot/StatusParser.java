package ptlab.snapshot;

/**
 * Parser of {@code /proc/PID/status}: {@code Key:\tvalue} lines; analyze needs Name, Pid and
 * VmPTE. A status without VmPTE is a kernel thread's (no mm) or not a status file at all.
 */
public final class StatusParser {
    private StatusParser() {}

    public static Status parse(String file, String text) {
        if (text.isEmpty()) {
            throw new SnapshotFormatException(file, "empty");
        }
        if (!text.endsWith("\n")) {
            throw new SnapshotFormatException(file, text.split("\n", -1).length, "truncated: the last line has no newline");
        }
        String[] lines = text.substring(0, text.length() - 1).split("\n", -1);
        String name = null;
        long pid = -1;
        long vmPte = -1;
        for (int i = 0; i < lines.length; i++) {
            String line = lines[i];
            int ln = i + 1;
            int colon = line.indexOf(':');
            if (colon <= 0) {
                throw new SnapshotFormatException(file, ln, "malformed line '" + MapsParser.Fields.clip(line) + "' (want Key: value)");
            }
            String key = line.substring(0, colon);
            String value = line.substring(colon + 1).trim();
            MapsParser.Fields f = new MapsParser.Fields(file, ln, line);
            switch (key) {
                case "Name":
                    name = value;
                    break;
                case "Pid":
                    pid = f.decimal(value, "Pid");
                    break;
                case "VmPTE":
                    if (!value.endsWith(" kB")) {
                        throw new SnapshotFormatException(file, ln, "malformed VmPTE '" + MapsParser.Fields.clip(value) + "' (want N kB)");
                    }
                    vmPte = f.decimal(value.substring(0, value.length() - 3).trim(), "VmPTE");
                    if (vmPte > (Long.MAX_VALUE >> 10)) {
                        throw new SnapshotFormatException(file, ln, "VmPTE " + vmPte + " kB is out of range");
                    }
                    break;
                default:
                    break;
            }
        }
        if (vmPte < 0) {
            throw new SnapshotFormatException(file, "no VmPTE line (a kernel thread, or not a status file)");
        }
        return new Status(name == null ? "?" : name, pid, vmPte);
    }
}
