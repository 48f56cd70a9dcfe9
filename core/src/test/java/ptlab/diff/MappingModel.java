package ptlab.diff;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.UnaryOperator;

/**
 * {@link TraceGenerator}'s rough idea of the VMAs a trace has created so far: sorted, disjoint
 * mappings with their protection, sharing and THP advice.
 *
 * <p>Rough on purpose: it only aims the generator's operations at interesting places. It ignores
 * VMA merging, applies an mprotect over a hole to the whole range, and so on; the kernel, not this
 * model, says what a trace does.
 */
final class MappingModel {
    /** One mapping: {@code [start, end)}, prot as in the trace language, {@code thp} "", "thp" or "nothp". */
    record Mapping(long start, long end, String prot, boolean shared, String thp) {
        long len() {
            return end - start;
        }

        Mapping with(long s, long e) {
            return new Mapping(s, e, prot, shared, thp);
        }

        boolean readable() {
            return prot.contains("r");
        }

        boolean writable() {
            return prot.contains("w");
        }
    }

    private final List<Mapping> mappings = new ArrayList<>();

    boolean isEmpty() {
        return mappings.isEmpty();
    }

    Mapping any(SplittableRandom rnd) {
        return mappings.get(rnd.nextInt(mappings.size()));
    }

    /** The mapping after {@code m} in address order, or null. */
    Mapping next(Mapping m) {
        int i = mappings.indexOf(m);
        return i >= 0 && i + 1 < mappings.size() ? mappings.get(i + 1) : null;
    }

    /** Whether {@code [a, e)} is non-empty and overlaps no mapping (MAP_FIXED_NOREPLACE would succeed). */
    boolean isFree(long a, long e) {
        for (Mapping m : mappings) {
            if (m.start < e && a < m.end) {
                return false;
            }
        }
        return a < e;
    }

    void map(Mapping n) {
        int i = 0;
        while (i < mappings.size() && mappings.get(i).start < n.start) {
            i++;
        }
        mappings.add(i, n);
    }

    void unmap(long a, long e) {
        update(a, e, m -> null);
    }

    /** Replaces the parts of mappings inside {@code [a, e)} (e rounded up to a page) by {@code f} of them; null unmaps. */
    void update(long a, long e, UnaryOperator<Mapping> f) {
        long end = (e + TraceGenerator.PAGE - 1) & -TraceGenerator.PAGE;
        List<Mapping> out = new ArrayList<>();
        for (Mapping m : mappings) {
            if (m.end <= a || end <= m.start) {
                out.add(m);
                continue;
            }
            if (m.start < a) {
                out.add(m.with(m.start, a));
            }
            Mapping mid = f.apply(m.with(Math.max(a, m.start), Math.min(end, m.end)));
            if (mid != null) {
                out.add(mid);
            }
            if (end < m.end) {
                out.add(m.with(end, m.end));
            }
        }
        mappings.clear();
        mappings.addAll(out);
    }
}
