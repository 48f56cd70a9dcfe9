package ptlab.arch;

import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumMap;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A {@link Geometry} computed bottom-up from the granule, the present levels and the bits
 * each level indexes, the way Linux's {@code pgtable-hwdef.h} derives its shifts.
 */
public final class StandardGeometry implements Geometry {
    private final int pageShift;
    private final int vaBits;
    private final List<Level> levels;
    private final int[] shift = new int[5];
    private final int[] entries = new int[5];
    private final Level[] holder = new Level[5];
    private final boolean[] leaf = new boolean[5];
    private final int[] cont = new int[5];

    /**
     * @param pageShift   granule shift
     * @param vaBits      VA bits of one root
     * @param present     levels present at run time (any order); must contain PGD and PTE
     * @param leafLevels  present levels where Linux maps block leaves (PTE is always a leaf level)
     * @param contiguous  contiguous-run length per present level (absent: none)
     */
    public StandardGeometry(int pageShift, int vaBits, Set<Level> present, Set<Level> leafLevels,
            Map<Level, Integer> contiguous) {
        if (!present.contains(Level.PGD) || !present.contains(Level.PTE)) {
            throw new IllegalArgumentException("PGD and PTE must be present");
        }
        this.pageShift = pageShift;
        this.vaBits = vaBits;
        List<Level> ls = new ArrayList<>();
        for (Level l : Level.values()) {
            if (present.contains(l)) {
                ls.add(l);
            }
        }
        this.levels = Collections.unmodifiableList(ls);
        int bitsPerLevel = pageShift - 3;
        int s = pageShift;
        // Present levels bottom-up: each indexes bitsPerLevel bits, the root what remains.
        for (int i = ls.size() - 1; i >= 0; i--) {
            Level l = ls.get(i);
            shift[l.ordinal()] = s;
            int bits = i == 0 ? vaBits - s : bitsPerLevel;
            if (bits <= 0 || bits > bitsPerLevel) {
                throw new IllegalArgumentException("VA bits " + vaBits + " do not fit " + ls.size() + " levels");
            }
            entries[l.ordinal()] = 1 << bits;
            s += bits;
        }
        // Folded levels share the shift of the present level above and have one entry.
        Level above = Level.PGD;
        for (Level l : Level.values()) {
            if (present.contains(l)) {
                above = l;
                holder[l.ordinal()] = l;
            } else {
                holder[l.ordinal()] = above;
                shift[l.ordinal()] = shift[above.ordinal()];
                entries[l.ordinal()] = 1;
            }
        }
        EnumSet<Level> leaves = EnumSet.copyOf(leafLevels);
        leaves.add(Level.PTE);
        for (Level l : leaves) {
            if (!present.contains(l)) {
                throw new IllegalArgumentException("leaf level " + l + " is not present");
            }
            leaf[l.ordinal()] = true;
        }
        Map<Level, Integer> c = new EnumMap<>(Level.class);
        c.putAll(contiguous);
        for (Map.Entry<Level, Integer> e : c.entrySet()) {
            cont[e.getKey().ordinal()] = e.getValue();
        }
    }

    @Override
    public int pageShift() {
        return pageShift;
    }

    @Override
    public int vaBits() {
        return vaBits;
    }

    @Override
    public List<Level> levels() {
        return levels;
    }

    @Override
    public boolean isFolded(Level level) {
        return holder[level.ordinal()] != level;
    }

    @Override
    public int shift(Level level) {
        return shift[level.ordinal()];
    }

    @Override
    public int entries(Level level) {
        return entries[level.ordinal()];
    }

    @Override
    public Level holder(Level level) {
        return holder[level.ordinal()];
    }

    @Override
    public boolean leafAllowed(Level level) {
        return leaf[level.ordinal()];
    }

    @Override
    public int contiguousEntries(Level level) {
        return cont[level.ordinal()];
    }

    @Override
    public String toString() {
        StringBuilder b = new StringBuilder();
        for (Level l : levels) {
            b.append(l).append('[').append(entries(l)).append("x").append(entrySize(l)).append(leaf[l.ordinal()] ? ",leaf" : "").append("] ");
        }
        return b.toString().trim();
    }
}
