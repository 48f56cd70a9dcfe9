package ptlab.events;

import jdk.jfr.FlightRecorder;

/**
 * The tracepoints of ptlab, emitted as JFR events. Names follow the kernel where one exists.
 *
 * <p>Each method first asks {@link FlightRecorder#isInitialized()} (one static read) and only
 * then creates its event: the first event object loads and initialises JFR's machinery, which
 * costs ~100 ms of a short {@code ptlab replay} run that never records. Once any recording has
 * started in this JVM ({@code -XX:StartFlightRecording}, {@code ptlab simulate --jfr}, an
 * attached JMC), JFR stays initialised and the events' own enabled-checks decide.
 */
public final class Tracepoints {
    private Tracepoints() {}

    private static boolean off() {
        return !FlightRecorder.isInitialized();
    }

    /** A table page allocated and constructed, or destructed and freed. */
    public static void table(boolean alloc, String level, Object mm, long pfn) {
        if (off()) {
            return;
        }
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
        if (off()) {
            return;
        }
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
        if (off()) {
            return;
        }
        SyncEvent e = new SyncEvent();
        if (e.isEnabled()) {
            e.start = start;
            e.end = end;
            e.copies = copies;
            e.commit();
        }
    }

    public static void tlbFlush(String kind, Object mm, long start, long end, int cpus) {
        if (off()) {
            return;
        }
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
        if (off()) {
            return;
        }
        GracePeriodEvent e = new GracePeriodEvent();
        if (e.isEnabled()) {
            e.seq = seq;
            e.callbacks = callbacks;
            e.commit();
        }
    }
}
