package ptlab.snapshot;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import ptlab.PtlabException;
import ptlab.TextInput;

/**
 * {@code ptlab snapshot capture PID DIR}: copies {@code /proc/PID/maps}, {@code smaps} and
 * {@code status} verbatim and writes {@code DIR/pagemap}: for each maps line below
 * {@link Pagemap#USER_LIMIT}, in order, the pagemap entries of its pages, and
 * {@code DIR/pagemap.index}: where the occupied entries are ({@link PagemapIndex}). DIR is
 * created if missing and must otherwise be empty; a capture that fails leaves it as it was.
 */
/*
 * Implementation notes. maps and smaps are read until they agree (see consistent), then the
 * pagemap is read for exactly the maps ranges; a
 * mapping that goes away meanwhile reads as zero entries (pagemap reports holes as 0). status
 * is read last, so VmPTE includes any table created while the capture ran: a process that is
 * quiet while captured gives matching files. Reading another process's pagemap needs
 * PTRACE_MODE_READ (same user, or CAP_SYS_PTRACE); pfns are zero without CAP_SYS_ADMIN.
 *
 * The pagemap file is sparse: a block of 64 Ki entries that reads as all zero (the kernel's
 * pagemap_pte_hole for pages without a PTE, unless the VMA is VM_SOFTDIRTY) is not written, so
 * the file reads the same but a 64 TiB MAP_NORESERVE reservation (128 GiB of entries) costs
 * the disk almost nothing. Reading the entries still costs the kernel's walk: about 1 s per
 * TiB of mapping here (pagemap_read fills each entry of a hole one by one).
 */
public final class Capture {
    private static final int BUF_ENTRIES = 1 << 16;
    /** A block of zero entries, to compare each block read with (ByteBuffer.mismatch is vectorized). */
    private static final ByteBuffer ZEROS = ByteBuffer.allocateDirect(BUF_ENTRIES * 8);
    /** Reads of maps + smaps before a process that keeps changing them is reported. */
    private static final int ATTEMPTS = 20;

    private Capture() {}

    /** Captures {@code procDir} (normally {@code /proc/PID}) into {@code dir}; returns the pages written. */
    public static long capture(Path procDir, Path dir) {
        if (dir.toString().isEmpty()) {
            throw new PtlabException("empty directory name");
        }
        if (Files.exists(dir) && !Files.isDirectory(dir)) {
            throw new PtlabException(dir + ": not a directory");
        }
        if (!isEmptyOrMissing(dir)) {
            // Writing over an older capture would mix two processes' files, and one that fails
            // half-way would leave such a mix behind: analyze would then report nonsense.
            throw new PtlabException(dir + ": not empty (capture into a new or empty directory)");
        }
        // Everything that can be read first is read before DIR is made, so a capture that
        // cannot be taken (no such process, no permission) leaves nothing behind.
        byte[] maps = null;
        byte[] smaps = null;
        List<MapsEntry> entries = null;
        for (int attempt = 1; entries == null; attempt++) {
            maps = readProc(procDir.resolve("maps"));
            smaps = readProc(procDir.resolve("smaps"));
            entries = consistent(procDir, maps, smaps, attempt == ATTEMPTS);
        }
        if (entries.isEmpty()) {
            // /proc/PID/pagemap of such a task answers ESRCH, which would read as "no such process".
            throw new PtlabException(procDir + ": no user mappings to capture (a kernel thread, or a process that is exiting)");
        }
        byte[] status = readProc(procDir.resolve("status"));
        boolean created = !Files.exists(dir);
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new PtlabException(dir + ": cannot create (" + TextInput.reason(e) + ")", e);
        }
        try {
            PagemapIndex.Builder index = new PagemapIndex.Builder();
            long pages = copyPagemap(procDir, dir, entries, index);
            write(dir.resolve("maps"), maps);
            write(dir.resolve("smaps"), smaps);
            write(dir.resolve("status"), status);
            index.write(dir);
            return pages;
        } catch (RuntimeException e) {
            removeQuietly(dir, created);
            throw e;
        }
    }

    private static boolean isEmptyOrMissing(Path dir) {
        if (!Files.isDirectory(dir)) {
            return true;
        }
        try (java.util.stream.Stream<Path> s = Files.list(dir)) {
            return s.findAny().isEmpty();
        } catch (IOException e) {
            throw new PtlabException(dir + ": cannot read (" + TextInput.reason(e) + ")", e);
        }
    }

    /**
     * Removes the files a failed capture wrote (the directory was empty before), and the
     * directory too if this capture made it; best effort.
     */
    private static void removeQuietly(Path dir, boolean created) {
        for (String f : new String[] {"pagemap", "maps", "smaps", "status", PagemapIndex.FILE}) {
            try {
                Files.deleteIfExists(dir.resolve(f));
            } catch (IOException ignored) {
                // the error being reported matters more
            }
        }
        try {
            if (created) {
                Files.deleteIfExists(dir);
            }
        } catch (IOException ignored) {
            // not empty (someone else wrote there) or not ours to remove
        }
    }

    /**
     * Copies the pagemap entries of every maps line below {@link Pagemap#USER_LIMIT} into
     * {@code dir/pagemap}; returns the entries written. Blocks that read as all zero are left as
     * holes of the file (they read back as zero), and where the occupied entries are goes into
     * {@code index}.
     */
    private static long copyPagemap(Path procDir, Path dir, List<MapsEntry> entries, PagemapIndex.Builder index) {
        long pages = 0;
        Path pmIn = procDir.resolve("pagemap");
        try (FileChannel in = FileChannel.open(pmIn, StandardOpenOption.READ);
                FileChannel out = FileChannel.open(dir.resolve("pagemap"), StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                        StandardOpenOption.TRUNCATE_EXISTING)) {
            ByteBuffer buf = ByteBuffer.allocateDirect(BUF_ENTRIES * 8).order(ByteOrder.LITTLE_ENDIAN);
            for (MapsEntry e : entries) {
                if (Long.compareUnsigned(e.start(), Pagemap.USER_LIMIT) >= 0) {
                    continue;
                }
                copyMapping(in, out, buf, (e.start() >>> 12) * 8, pages * 8, e.pages() * 8, index);
                pages += e.pages();
            }
            if (out.size() < pages * 8) {
                // The last block was a hole: one zero entry at the end gives the file its length.
                out.write(ByteBuffer.allocate(8), pages * 8 - 8);
            }
        } catch (NoSuchFileException e) {
            throw new PtlabException(pmIn + ": no such process or file");
        } catch (IOException e) {
            throw new PtlabException(pmIn + ": cannot read (" + TextInput.reason(e) + ")", e);
        }
        return pages;
    }

    /** Copies {@code len} bytes of entries from {@code pos} in /proc's pagemap to {@code outPos} in the capture's. */
    private static void copyMapping(FileChannel in, FileChannel out, ByteBuffer buf, long pos, long outPos, long len,
            PagemapIndex.Builder index) throws IOException {
        for (long left = len; left > 0;) {
            buf.clear();
            buf.limit((int) Math.min(buf.capacity(), left));
            int n = in.read(buf, pos);
            if (n <= 0) {
                // Past the end of the address space the kernel reads nothing: pad with holes.
                buf.clear();
                buf.limit((int) Math.min(buf.capacity(), left));
                while (buf.hasRemaining()) {
                    buf.put((byte) 0);
                }
                n = buf.limit();
            }
            buf.flip();
            if (buf.mismatch(ZEROS.duplicate().limit(buf.limit())) >= 0) {
                recordOccupied(buf, outPos >>> 3, index);
                while (buf.hasRemaining()) {
                    out.write(buf, outPos + buf.position());
                }
            }
            pos += n;
            outPos += n;
            left -= n;
        }
    }

    /** Adds the span from the first to the last occupied entry of {@code buf} (entry {@code first} of the file) to {@code index}. */
    private static void recordOccupied(ByteBuffer buf, long first, PagemapIndex.Builder index) {
        int lo = -1;
        int hi = -1;
        for (int i = 0, n = buf.limit() >>> 3; i < n; i++) {
            if ((buf.getLong(i << 3) & Pagemap.OCCUPIED) != 0) {
                lo = lo < 0 ? i : lo;
                hi = i;
            }
        }
        if (lo >= 0) {
            index.add(first + lo, first + hi + 1);
        }
    }

    /**
     * The maps entries if {@code maps} and {@code smaps} are each in address order and list the
     * same mappings, else {@code null} (or, on the {@code last} attempt, the parse error). A
     * process that maps or unmaps while its files are read can give either file a mapping that
     * overlaps the one before it (the read resumes after the last address printed, and that
     * mapping may have grown) or give the two files different mappings; a new read usually
     * sees a quiet moment.
     */
    private static List<MapsEntry> consistent(Path procDir, byte[] maps, byte[] smaps, boolean last) {
        try {
            List<MapsEntry> m = MapsParser.parse(procDir.resolve("maps").toString(),
                    new String(maps, java.nio.charset.StandardCharsets.ISO_8859_1));
            List<SmapsEntry> sm = SmapsParser.parse(procDir.resolve("smaps").toString(),
                    new String(smaps, java.nio.charset.StandardCharsets.ISO_8859_1));
            boolean same = m.size() == sm.size();
            for (int i = 0; same && i < m.size(); i++) {
                same = m.get(i).start() == sm.get(i).header().start() && m.get(i).end() == sm.get(i).header().end();
            }
            if (same || !last) {
                return same ? m : null;
            }
            throw new PtlabException(procDir + ": maps and smaps disagree in " + ATTEMPTS + " reads: the process keeps changing its mappings");
        } catch (SnapshotFormatException e) {
            if (last) {
                throw e;
            }
            return null;
        }
    }

    private static byte[] readProc(Path p) {
        try {
            return Files.readAllBytes(p);
        } catch (NoSuchFileException e) {
            throw new PtlabException(p + ": no such process or file");
        } catch (IOException e) {
            throw new PtlabException(p + ": cannot read (" + TextInput.reason(e) + ")", e);
        }
    }

    private static void write(Path p, byte[] b) {
        try {
            Files.write(p, b);
        } catch (IOException e) {
            throw new PtlabException(p + ": cannot write (" + TextInput.reason(e) + ")", e);
        }
    }
}
