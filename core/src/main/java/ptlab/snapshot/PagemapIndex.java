package ptlab.snapshot;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;
import ptlab.PtlabException;
import ptlab.TextInput;

/**
 * {@code DIR/pagemap.index}: which entries of a capture's {@code pagemap} may be occupied
 * (present, swapped or a PTE marker, {@link Pagemap#OCCUPIED}). Every entry outside its extents
 * is not, so a rebuild reads only the extents: a capture of a process with one huge sparse
 * mapping (a 64 TiB {@code MAP_NORESERVE} reservation holds 2^34 entries, 128 GiB of pagemap)
 * is analyzed in the time of its occupied entries, not of its pages.
 *
 * <p>The file is text: {@code ptlab pagemap index 1}, then {@code pagemap BYTES MTIME_NS} (the
 * pagemap file it describes: its size and {@code st_mtim} when the index was written), then one
 * {@code FROM TO} line per extent of entry indices (half-open, ascending, disjoint). It is not
 * part of the capture contract (DESIGN.md, "Snapshots"): a capture without it, or one whose
 * pagemap changed since (size or modification time differ), is read in full and gives the same
 * analysis.
 */
/*
 * Implementation notes. Why an index and not smaps: a VMA with Rss 0 and Swap 0 in smaps may
 * still hold occupied entries. A guard region (MADV_GUARD_INSTALL, 6.13+) is a PTE marker that
 * smaps counts nowhere (pagemap bit 58; VmFlags 'gu' only on newer kernels), a uffd-wp marker
 * neither, a hugetlb VMA reports its pages in *_Hugetlb and Rss 0, and smaps is read before
 * the pagemap, so a page faulted in between is in the pagemap only. Capture sees every entry
 * anyway, so it records where the occupied ones are.
 *
 * Why the modification time: the index cannot be checked against the pagemap without reading
 * the whole pagemap, which is what it saves. A pagemap edited or rewritten after the capture
 * has another st_mtim (a copy without -p too: that copy is read in full, still correctly).
 */
public final class PagemapIndex {
    /** The file name inside a capture directory. */
    public static final String FILE = "pagemap.index";
    private static final String MAGIC = "ptlab pagemap index 1";

    private PagemapIndex() {}

    /** Collects extents in ascending order while a capture copies the pagemap. */
    static final class Builder {
        private long[] from = new long[16];
        private long[] to = new long[16];
        private int n;

        /** Entries {@code [f, t)} may be occupied; {@code f} is not below the last extent's start (extents that touch merge). */
        void add(long f, long t) {
            if (n > 0 && f <= to[n - 1]) {
                to[n - 1] = Math.max(to[n - 1], t);
                return;
            }
            if (n == from.length) {
                from = Arrays.copyOf(from, n * 2);
                to = Arrays.copyOf(to, n * 2);
            }
            from[n] = f;
            to[n] = t;
            n++;
        }

        /** Writes {@code dir/pagemap.index} for {@code dir/pagemap} as it is now (after it is closed). */
        void write(Path dir) {
            Path pm = dir.resolve("pagemap");
            Path p = dir.resolve(FILE);
            try {
                StringBuilder b = new StringBuilder(MAGIC).append('\n');
                b.append("pagemap ").append(Files.size(pm)).append(' ').append(mtimeNanos(pm)).append('\n');
                for (int i = 0; i < n; i++) {
                    b.append(from[i]).append(' ').append(to[i]).append('\n');
                }
                Files.writeString(p, b, StandardCharsets.US_ASCII);
            } catch (IOException e) {
                throw new PtlabException(p + ": cannot write (" + TextInput.reason(e) + ")", e);
            }
        }
    }

    /**
     * The extents of {@code dir/pagemap.index} as {from, to} arrays, or {@code null} when there is
     * no index or it describes another pagemap than {@code dir/pagemap} (whose {@code entries}
     * the caller has checked): then every entry must be read.
     *
     * @throws SnapshotFormatException if the index is malformed (not ptlab's, truncated, extents
     *                                 out of order or beyond the pagemap)
     */
    static long[][] read(Path dir, long entries) {
        Path p = dir.resolve(FILE);
        String text;
        long mtime;
        try {
            text = new String(Files.readAllBytes(p), StandardCharsets.ISO_8859_1);
            mtime = mtimeNanos(dir.resolve("pagemap"));
        } catch (NoSuchFileException e) {
            return null;
        } catch (IOException e) {
            throw new SnapshotFormatException(p.toString(), "cannot read (" + TextInput.reason(e) + ")");
        }
        return parse(p.toString(), text, entries, mtime);
    }

    /** {@link #read}'s parse of the text, for a pagemap of {@code entries} entries modified at {@code mtime}. */
    static long[][] parse(String file, String text, long entries, long mtime) {
        if (!text.endsWith("\n")) {
            throw new SnapshotFormatException(file, text.split("\n", -1).length, "truncated: the last line has no newline");
        }
        String[] lines = text.substring(0, text.length() - 1).split("\n", -1);
        if (!lines[0].equals(MAGIC)) {
            throw new SnapshotFormatException(file, 1, "not a ptlab pagemap index (want '" + MAGIC + "')");
        }
        long[] head = numbers(file, 2, lines.length > 1 ? lines[1] : "", "pagemap ");
        if (head[0] != entries * 8 || head[1] != mtime) {
            return null; // another pagemap than the one indexed: read it all
        }
        long[] from = new long[lines.length - 2];
        long[] to = new long[from.length];
        for (int i = 0; i < from.length; i++) {
            int ln = i + 3;
            long[] e = numbers(file, ln, lines[i + 2], "");
            if (e[0] < 0 || e[0] >= e[1] || e[1] > entries || (i > 0 && e[0] < to[i - 1])) {
                throw new SnapshotFormatException(file, ln, "extent " + e[0] + "-" + e[1]
                        + " is empty, out of order or beyond the pagemap's " + entries + " entries");
            }
            from[i] = e[0];
            to[i] = e[1];
        }
        return new long[][] {from, to};
    }

    /** The two decimal numbers of {@code prefix + "A B"}. */
    private static long[] numbers(String file, int ln, String line, String prefix) {
        String[] w = line.startsWith(prefix) ? line.substring(prefix.length()).split(" ", -1) : new String[0];
        if (w.length != 2 || !w[0].matches("-?[0-9]{1,19}") || !w[1].matches("-?[0-9]{1,19}")) {
            throw new SnapshotFormatException(file, ln, "malformed line '" + MapsParser.Fields.clip(line) + "' (want '" + prefix + "N N')");
        }
        try {
            return new long[] {Long.parseLong(w[0]), Long.parseLong(w[1])};
        } catch (NumberFormatException e) {
            throw new SnapshotFormatException(file, ln, "number out of range in '" + MapsParser.Fields.clip(line) + "'");
        }
    }

    private static long mtimeNanos(Path p) throws IOException {
        return Files.getLastModifiedTime(p).to(TimeUnit.NANOSECONDS);
    }
}
