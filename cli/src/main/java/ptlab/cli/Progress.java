package ptlab.cli;

import java.io.PrintStream;

/**
 * A one-line progress bar on stderr for runs over a second. Silent when stderr is not a
 * terminal (no console), so logs and pipes never see it; cleared when done.
 */
final class Progress implements AutoCloseable {
    private final PrintStream err;
    private final boolean enabled;
    private final long total;
    private final long start = System.nanoTime();
    private long lastDraw;
    private boolean drawn;

    Progress(long total, boolean quiet) {
        this.err = System.err;
        this.enabled = !quiet && System.console() != null;
        this.total = Math.max(1, total);
    }

    /** {@code done} units of {@code total} finished; {@code what} is the current item. */
    void update(long done, String what) {
        if (!enabled) {
            return;
        }
        long now = System.nanoTime();
        if (now - start < 1_000_000_000L || now - lastDraw < 100_000_000L) {
            return;
        }
        lastDraw = now;
        int width = 30;
        int filled = (int) (width * Math.min(done, total) / total);
        String bar = "#".repeat(filled) + " ".repeat(width - filled);
        err.printf("\r[%s] %3d%% %-40s", bar, 100 * Math.min(done, total) / total, what.length() > 40 ? what.substring(0, 40) : what);
        err.flush();
        drawn = true;
    }

    @Override
    public void close() {
        if (drawn) {
            err.print("\r" + " ".repeat(80) + "\r");
            err.flush();
        }
    }
}
