package ptlab.snapshot;

/**
 * One line of {@code /proc/PID/maps}: {@code start-end perms offset dev inode [path]}.
 *
 * @param line   1-based line number in the file (for messages)
 * @param offset file offset in bytes (0 for anonymous memory)
 * @param path   the path or pseudo-name ({@code [heap]}, {@code [stack]}, {@code [vdso]}), or ""
 */
public record MapsEntry(int line, long start, long end, boolean read, boolean write, boolean exec, boolean shared, long offset,
        String dev, long inode, String path) {

    /** Pages of 4 KiB the mapping spans. */
    public long pages() {
        return (end - start) >>> 12;
    }

    /** Anonymous memory: no file behind it and not shared (heap, stack, anonymous mmap). */
    public boolean anonymousPrivate() {
        return inode == 0 && !shared && !path.startsWith("/");
    }

    public String perms() {
        return (read ? "r" : "-") + (write ? "w" : "-") + (exec ? "x" : "-") + (shared ? "s" : "p");
    }

    /** {@code 7f00-7f10 rw-p [heap]} for reports. */
    public String label() {
        return Long.toHexString(start) + "-" + Long.toHexString(end) + " " + perms() + (path.isEmpty() ? "" : " " + path);
    }
}
