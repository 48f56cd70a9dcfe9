package ptlab.arch;

import static org.quicktheories.generators.SourceDSL.integers;
import static org.quicktheories.generators.SourceDSL.longs;

import java.util.ArrayList;
import java.util.List;
import org.quicktheories.QuickTheory;
import org.quicktheories.core.Gen;

/**
 * Seeded QuickTheories generators for format properties. The seed comes from
 * {@code -Dptlab.seed=...} or the clock and is printed once, so a failure can be replayed;
 * QuickTheories shrinks a failing sample towards pa 0, the first leaf level and PageProt 0.
 */
final class Samples {
    static final long SEED = Long.getLong("ptlab.seed", System.nanoTime());
    static final int EXAMPLES = Integer.getInteger("ptlab.examples", 300);

    static {
        System.out.println("ptlab.arch property seed: -Dptlab.seed=" + SEED);
    }

    private Samples() {}

    static QuickTheory qt() {
        return QuickTheory.qt().withFixedSeed(SEED).withExamples(EXAMPLES);
    }

    /** One leaf to encode: a level where leaves may stand, an address aligned for it, a protection. */
    record Leaf(Level level, long pa, PageProt prot) {
        @Override
        public String toString() {
            return level + " pa=0x" + Long.toHexString(pa) + " " + prot;
        }
    }

    /** One table entry to encode. */
    record Table(Level level, long pa, TableKind kind) {
        @Override
        public String toString() {
            return level + " table pa=0x" + Long.toHexString(pa) + " " + kind;
        }
    }

    /** Every PageProt: 7 flag bits and a memory type. */
    static Gen<PageProt> prots() {
        return integers().between(0, 128 * MemType.values().length - 1).map(Samples::prot);
    }

    static PageProt prot(int i) {
        return new PageProt((i & 1) != 0, (i & 2) != 0, (i & 4) != 0, (i & 8) != 0, (i & 16) != 0, (i & 32) != 0,
                (i & 64) != 0, MemType.values()[i >>> 7]);
    }

    static List<Level> leafLevels(Geometry g) {
        List<Level> out = new ArrayList<>();
        for (Level l : g.levels()) {
            if (g.leafAllowed(l)) {
                out.add(l);
            }
        }
        return out;
    }

    static List<Level> tableLevels(Geometry g) {
        List<Level> out = new ArrayList<>(g.levels());
        out.remove(Level.PTE);
        return out;
    }

    /** An address below 2^physAddrBits aligned to {@code 1 << alignShift}. */
    static long aligned(long raw, int alignShift, int physAddrBits) {
        return (raw << alignShift) & ((1L << physAddrBits) - 1);
    }

    /** Leaves at every leaf level; {@code extraAlign} adds alignment (a contiguous run). */
    static Gen<Leaf> leaves(Architecture a, boolean contiguousOnly) {
        return leaves(a, contiguousOnly, false);
    }

    /**
     * Leaves at every leaf level, or (with {@code hugeOnly}) above the PTE level only: a filter
     * in the generator, not an assumption, so QuickTheories never runs out of examples.
     */
    static Gen<Leaf> leaves(Architecture a, boolean contiguousOnly, boolean hugeOnly) {
        Geometry g = a.geometry();
        List<Level> levels = new ArrayList<>(leafLevels(g));
        if (contiguousOnly) {
            levels.removeIf(l -> g.contiguousEntries(l) == 0);
        }
        if (hugeOnly) {
            levels.remove(Level.PTE);
        }
        int bits = a.format().physAddrBits();
        Gen<Level> level = integers().between(0, levels.size() - 1).map(levels::get);
        return level.zip(longs().between(0, Long.MAX_VALUE), prots(), (l, raw, p) -> {
            int shift = g.shift(l) + (contiguousOnly ? Integer.numberOfTrailingZeros(g.contiguousEntries(l)) : 0);
            return new Leaf(l, aligned(raw, shift, bits), p);
        });
    }

    static Gen<Table> tables(Architecture a) {
        Geometry g = a.geometry();
        List<Level> levels = tableLevels(g);
        int bits = a.format().physAddrBits();
        Gen<Level> level = integers().between(0, levels.size() - 1).map(levels::get);
        return level.zip(longs().between(0, Long.MAX_VALUE), integers().between(0, 1),
                (l, raw, k) -> new Table(l, aligned(raw, g.pageShift(), bits), TableKind.values()[k]));
    }
}
