package ptlab.snapshot;

import java.io.IOException;
import java.nio.ByteBuffer;
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
 * {@link Pagemap#USER_LIMIT}, in order, the pagemap entries of its pages.
 */
/*
 * Implementation notes. maps and smaps are read until they agree (see consistent), then the
 * pagemap is read for exactly the maps ranges; a
 * mapping that goes away meanwhile reads as zero entries (pagemap reports holes as 0). status
 * is read last, so VmPTE includes any table created while the capture ran: a process that is
 * quiet while captured gives matching files. Reading another process's pagemap needs
 * PTRACE_MODE_READ (same user, or CAP_SYS_PTRACE); pfns are zero without CAP_SYS_ADMIN.
 */
public final class Capture {
    private static final int BUF_ENTRIES = 1 << 16;
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
            long pages = copyPagemap(procDir, dir, entries);
            write(dir.resolve("maps"), maps);
            write(dir.resolve("smaps"), smaps);
            write(dir.resolve("status"), status);
            return pages;
        } catch (RuntimeException e) {
            if (created) {
                removeQuietly(dir);
            }
            throw e;
        }
    }

    /** Removes a directory this capture made, with the files it wrote there; best effort. */
    private static void removeQuietly(Path dir) {
        for (String f : new String[] {"pagemap", "maps", "smaps", "status"}) {
            try {
                Files.deleteIfExists(dir.resolve(f));
            } catch (IOException ignored) {
                // the error being reported matters more
            }
        }
        try {
            Files.deleteIfExists(dir);
        } catch (IOException ignored) {
            // not empty (someone else wrote there) or not ours to remove
        }
    }

    private static long copyPagemap(Path procDir, Path dir, List<MapsEntry> entries) {
        long pages = 0;
        Path pmIn = procDir.resolve("pagemap");
        try (FileChannel in = FileChannel.open(pmIn, StandardOpenOption.READ);
                FileChannel out = FileChannel.open(dir.resolve("pagemap"), StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                        StandardOpenOption.TRUNCATE_EXISTING)) {
            ByteBuffer buf = ByteBuffer.allocateDirect(BUF_ENTRIES * 8);
            for (MapsEntry e : entries) {
                if (Long.compareUnsigned(e.start(), Pagemap.USER_LIMIT) >= 0) {
                    continue;
                }
                long pos = (e.start() >>> 12) * 8;
                long left = e.pages() * 8;
                while (left > 0) {
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
                    while (buf.hasRemaining()) {
                        out.write(buf);
                    }
                    pos += n;
                    left -= n;
                }
                pages += e.pages();
            }
        } catch (NoSuchFileException e) {
            throw new PtlabException(pmIn + ": no such process or file");
        } catch (IOException e) {
            throw new PtlabException(pmIn + ": cannot read (" + TextInput.reason(e) + ")", e);
        }
        return pages;
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
