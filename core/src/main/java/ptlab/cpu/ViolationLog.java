package ptlab.cpu;

import java.util.ArrayList;
import java.util.List;

/**
 * Where runtime checks (might-sleep, use-after-free reads, lock order) record what they
 * find. One log belongs to one simulated machine. In strict mode a record also throws, so a
 * test sees the stack of the offending call.
 */
public final class ViolationLog {
    private final List<Violation> violations = new ArrayList<>();
    private volatile boolean strict;

    public ViolationLog(boolean strict) {
        this.strict = strict;
    }

    public void setStrict(boolean strict) {
        this.strict = strict;
    }

    public boolean strict() {
        return strict;
    }

    /** Records {@code v}; throws {@link ViolationException} in strict mode. */
    public void record(Violation v) {
        synchronized (violations) {
            violations.add(v);
        }
        if (strict) {
            throw new ViolationException(v);
        }
    }

    public void record(String kind, String detail) {
        record(new Violation(kind, detail));
    }

    /** A copy of everything recorded so far. */
    public List<Violation> snapshot() {
        synchronized (violations) {
            return new ArrayList<>(violations);
        }
    }

    public int size() {
        synchronized (violations) {
            return violations.size();
        }
    }

    /** Forgets recorded violations (a test that expected them calls this after checking). */
    public void clear() {
        synchronized (violations) {
            violations.clear();
        }
    }
}
