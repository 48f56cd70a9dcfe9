package ptlab.sim;

import ptlab.arch.Geometry;
import ptlab.arch.Level;
import ptlab.pgtable.Mm;
import ptlab.pgtable.PageTables;
import ptlab.phys.PageDesc;

/**
 * Entry occupancy of the live page tables: for each run-time level, how many tables have
 * 0–9 %, 10–19 %, ... 90–99 % and 100 % of their entries in use (not none). User PGDs on
 * architectures that share init_mm's kernel half are counted on their user half only, and
 * the shared kernel tables once, with init_mm. Taken while no other CPU changes tables.
 */
public record Occupancy(long[][] buckets) {
    public static final int BUCKETS = 11;

    public static Occupancy of(PageTables pt) {
        long[][] b = new long[Level.values().length][BUCKETS];
        for (Mm mm : pt.mms()) {
            if (mm.pgd() != null) {
                visit(pt, mm, mm.pgd(), 0, b);
            }
        }
        return new Occupancy(b);
    }

    private static void visit(PageTables pt, Mm mm, PageDesc t, int li, long[][] b) {
        Geometry g = pt.geometry();
        Level l = g.levels().get(li);
        int limit = pt.ownedEntries(mm, l);
        int used = 0;
        for (int i = 0; i < limit; i++) {
            long e = PageTables.read(t, i);
            if (e == 0) {
                continue;
            }
            used++;
            if (l != Level.PTE && pt.format().isTable(l, e)) {
                visit(pt, mm, pt.child(l, e), li + 1, b);
            }
        }
        int bucket = used == limit ? BUCKETS - 1 : (int) (10L * used / limit);
        b[l.ordinal()][bucket]++;
    }

    /** Tables of {@code level} in {@code bucket}. */
    public long count(Level level, int bucket) {
        return buckets[level.ordinal()][bucket];
    }

    /** The bucket's label: "0-9%", ..., "90-99%", "100%". */
    public static String label(int bucket) {
        return bucket == BUCKETS - 1 ? "100%" : (bucket * 10) + "-" + (bucket * 10 + 9) + "%";
    }
}
