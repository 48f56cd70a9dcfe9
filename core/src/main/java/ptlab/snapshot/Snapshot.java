package ptlab.snapshot;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A loaded capture directory: {@code maps}, {@code smaps}, {@code status} and {@code pagemap}
 * (the contract of {@code DESIGN.md}, "Snapshots"), and {@code pagemap.index} where the capture
 * wrote one ({@link PagemapIndex}: which pagemap entries can be occupied). Loading never reads
 * {@code /proc}.
 *
 * @param pagemapBase for each maps line, the index of its first entry in the pagemap, or -1 for
 *                    a line at or above {@link Pagemap#USER_LIMIT}
 */
public record Snapshot(Path dir, List<MapsEntry> maps, List<SmapsEntry> smaps, Status status, Pagemap pagemap, long[] pagemapBase) {

    /**
     * Loads and cross-checks a capture.
     *
     * @throws SnapshotFormatException for any missing, truncated or malformed file
     */
    public static Snapshot load(Path dir) {
        if (dir.toString().isEmpty()) {
            throw new SnapshotFormatException("''", "empty directory name");
        }
        if (!Files.isDirectory(dir)) {
            throw new SnapshotFormatException(dir.toString(), Files.exists(dir) ? "not a directory" : "no such directory");
        }
        List<MapsEntry> maps = MapsParser.parse(name(dir, "maps"), read(dir, "maps"));
        List<SmapsEntry> smaps = SmapsParser.parse(name(dir, "smaps"), read(dir, "smaps"));
        Status status = StatusParser.parse(name(dir, "status"), read(dir, "status"));
        sameMappings(name(dir, "smaps"), maps, smaps);
        long[] base = new long[maps.size()];
        long total = 0;
        for (int i = 0; i < maps.size(); i++) {
            MapsEntry e = maps.get(i);
            if (Long.compareUnsigned(e.start(), Pagemap.USER_LIMIT) >= 0) {
                base[i] = -1;
                continue;
            }
            if (Long.compareUnsigned(e.end(), Pagemap.USER_LIMIT) > 0) {
                throw new SnapshotFormatException(name(dir, "maps"), e.line(), "mapping " + e.label() + " crosses 0x800000000000");
            }
            base[i] = total;
            total += e.pages();
        }
        Pagemap pm = Pagemap.open(dir.resolve("pagemap"), name(dir, "pagemap"), total).onlyIn(PagemapIndex.read(dir, total));
        return new Snapshot(dir, maps, smaps, status, pm, base);
    }

    /** The smaps block with exactly the range of {@code e}, if smaps has one. */
    public Map<Long, SmapsEntry> smapsByStart() {
        Map<Long, SmapsEntry> m = new HashMap<>();
        for (SmapsEntry s : smaps) {
            m.put(s.header().start(), s);
        }
        return m;
    }

    /** smaps lists the mappings maps lists, in the same order (a capture writes both from one quiet moment). */
    private static void sameMappings(String smapsName, List<MapsEntry> maps, List<SmapsEntry> smaps) {
        for (int i = 0; i < Math.max(maps.size(), smaps.size()); i++) {
            if (i >= smaps.size() || i >= maps.size() || maps.get(i).start() != smaps.get(i).header().start()
                    || maps.get(i).end() != smaps.get(i).header().end()) {
                String what = i >= smaps.size() ? "has no block for maps' mapping " + range(maps.get(i).start(), maps.get(i).end())
                        : i >= maps.size() ? "has a block for " + range(smaps.get(i).header().start(), smaps.get(i).header().end())
                                + ", which maps does not list"
                        : "has " + range(smaps.get(i).header().start(), smaps.get(i).header().end()) + " where maps has "
                                + range(maps.get(i).start(), maps.get(i).end());
                throw new SnapshotFormatException(smapsName, what + " (mapping " + (i + 1) + "): maps and smaps are not of one capture");
            }
        }
    }

    private static String range(long start, long end) {
        return Long.toHexString(start) + "-" + Long.toHexString(end);
    }

    static String name(Path dir, String file) {
        return dir.resolve(file).toString();
    }

    private static String read(Path dir, String file) {
        Path p = dir.resolve(file);
        try {
            byte[] b = Files.readAllBytes(p);
            return new String(b, StandardCharsets.ISO_8859_1);
        } catch (NoSuchFileException e) {
            throw new SnapshotFormatException(p.toString(), "missing (a capture holds maps, smaps, status and pagemap)");
        } catch (IOException e) {
            throw new SnapshotFormatException(p.toString(), "cannot read (" + ptlab.TextInput.reason(e) + ")");
        }
    }
}
