package ptlab.pgtable;

/** {@code /sys/kernel/mm/transparent_hugepage/enabled}. */
public enum ThpMode {
    ALWAYS,
    MADVISE,
    NEVER;

    public static ThpMode parse(String s) {
        for (ThpMode m : values()) {
            if (m.name().equalsIgnoreCase(s)) {
                return m;
            }
        }
        throw new ptlab.PtlabException("unknown THP mode '" + s + "' (always, madvise, never)");
    }
}
