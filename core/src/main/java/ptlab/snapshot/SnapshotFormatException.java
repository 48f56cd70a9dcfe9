package ptlab.snapshot;

import ptlab.PtlabException;

/**
 * A snapshot file that is missing, unreadable, truncated or malformed, or files that disagree
 * (a pagemap shorter than the maps imply). The message is one line: the file, the line where
 * there is one, and the problem.
 */
public final class SnapshotFormatException extends PtlabException {
    private static final long serialVersionUID = 1L;

    private final String file;
    private final int line;

    public SnapshotFormatException(String file, int line, String reason) {
        super(file + (line > 0 ? ":" + line : "") + ": " + reason);
        this.file = file;
        this.line = line;
    }

    public SnapshotFormatException(String file, String reason) {
        this(file, 0, reason);
    }

    /** The file the problem is in. */
    public String file() {
        return file;
    }

    /** The 1-based line, or 0 if the problem is not on one line. */
    public int line() {
        return line;
    }
}
