package ptlab.events;

/**
 * The tracepoints of ptlab, emitted as JFR events. Each method costs an enabled-check when no
 * recording is running. Names follow the kernel where one exists.
 */
public final class Tracepoints {
    private Tracepoints() {}

    /** A table page allocated and constructed, or destructed and freed. */
    public static void table(boolean alloc, String level, Object mm, long pfn) {
        TableEvent e = new TableEvent();
        if (e.isEnabled()) {
            e.alloc = alloc;
            e.level = level;
            e.mm = String.valueOf(mm);
            e.pfn = pfn;
            e.commit();
        }
    }

    /** {@code op} is "split" or "collapse". */
    public static void thp(String op, Object mm, long addr, String level) {
        ThpEvent e = new ThpEvent();
        if (e.isEnabled()) {
            e.op = op;
            e.mm = String.valueOf(mm);
            e.addr = addr;
            e.level = level;
            e.commit();
        }
    }

    public static void sync(long start, long end, long copies) {
        SyncEvent e = new SyncEvent();
        if (e.isEnabled()) {
            e.start = start;
            e.end = end;
            e.copies = copies;
            e.commit();
        }
    }

    public static void tlbFlush(String kind, Object mm, long start, long end, int cpus) {
        FlushEvent e = new FlushEvent();
        if (e.isEnabled()) {
            e.kind = kind;
            e.mm = String.valueOf(mm);
            e.start = start;
            e.end = end;
            e.cpus = cpus;
            e.commit();
        }
    }

    public static void gracePeriod(long seq, long callbacks) {
        GracePeriodEvent e = new GracePeriodEvent();
        if (e.isEnabled()) {
            e.seq = seq;
            e.callbacks = callbacks;
            e.commit();
        }
    }
}
