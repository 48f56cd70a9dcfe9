package ptlab.arch;

import java.util.Collections;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/** The named architectures ptlab models, and lookup by name. */
public final class Architectures {
    /** The configuration of this machine's kernel and the default everywhere. */
    public static final String DEFAULT = "x86_64-4l";

    private static final Map<String, Architecture> BY_NAME = new LinkedHashMap<>();

    static {
        register(x86(4));
        register(x86(5));
    }

    private Architectures() {}

    private static void register(Architecture a) {
        BY_NAME.put(a.name(), a);
    }

    /** Every architecture, in a stable order. */
    public static java.util.Collection<Architecture> all() {
        return Collections.unmodifiableCollection(BY_NAME.values());
    }

    public static java.util.Set<String> names() {
        return Collections.unmodifiableSet(BY_NAME.keySet());
    }

    /**
     * Looks an architecture up by name.
     *
     * @throws UnknownArchitectureException if there is none of that name
     */
    public static Architecture byName(String name) {
        Architecture a = BY_NAME.get(name);
        if (a == null) {
            throw new UnknownArchitectureException(name, BY_NAME.keySet());
        }
        return a;
    }

    public static Architecture defaultArch() {
        return byName(DEFAULT);
    }

    /* ---- x86-64 ---- */

    private static Architecture x86(int levels) {
        Set<Level> present = levels == 5 ? EnumSet.allOf(Level.class) : EnumSet.of(Level.PGD, Level.PUD, Level.PMD, Level.PTE);
        int va = levels == 5 ? 57 : 48;
        Geometry g = new StandardGeometry(12, va, present, EnumSet.of(Level.PUD, Level.PMD), Map.of());
        // TASK_SIZE_MAX is one page below the top of the lower half; tables span the whole half.
        long userTop = 1L << (va - 1);
        // 4-level: p4d_populate is the PGD write (P4D folded), so PGTBL_P4D_MODIFIED triggers the sync.
        Set<Level> sync = EnumSet.of(levels == 5 ? Level.PGD : Level.P4D);
        return new Architecture("x86_64-" + levels + "l", g, new X86Format(), 1, userTop, 256, sync, -userTop);
    }
}
