package ptlab.arch;

/**
 * Every {@link PageProt} value, built once, so that decoding a leaf ({@link PteFormat#prot})
 * allocates nothing: seven flags and a memory type give 128 x 3 records. The index of a value
 * is {@link PageProt#index()}, which the encoders use to look up a value's precomputed bits.
 */
final class ProtTable {
    /* Index bits, one per PageProt flag; the MemType ordinal sits above them. */
    static final int READ = 1;
    static final int WRITE = 1 << 1;
    static final int EXEC = 1 << 2;
    static final int USER = 1 << 3;
    static final int GLOBAL = 1 << 4;
    static final int YOUNG = 1 << 5;
    static final int DIRTY = 1 << 6;
    static final int TYPE_SHIFT = 7;

    private static final MemType[] TYPES = MemType.values();
    /** Number of distinct values, one past the largest {@link PageProt#index()}. */
    static final int SIZE = 128 * TYPES.length;
    private static final PageProt[] ALL = new PageProt[SIZE];

    static {
        for (int i = 0; i < ALL.length; i++) {
            ALL[i] = new PageProt((i & READ) != 0, (i & WRITE) != 0, (i & EXEC) != 0, (i & USER) != 0,
                    (i & GLOBAL) != 0, (i & YOUNG) != 0, (i & DIRTY) != 0, TYPES[i >>> TYPE_SHIFT]);
            assert ALL[i].index() == i;
        }
    }

    private ProtTable() {}

    static PageProt of(boolean read, boolean write, boolean exec, boolean user, boolean global, boolean young,
            boolean dirty, MemType type) {
        int i = (read ? READ : 0) | (write ? WRITE : 0) | (exec ? EXEC : 0) | (user ? USER : 0) | (global ? GLOBAL : 0)
                | (young ? YOUNG : 0) | (dirty ? DIRTY : 0) | type.ordinal() << TYPE_SHIFT;
        return ALL[i];
    }

    /** The record for an index built from the bit constants above. */
    static PageProt byIndex(int index) {
        return ALL[index];
    }

    /**
     * A format's encode table: for each kind of leaf ({@code kinds[k]}: the bits of a leaf of
     * that kind with a given value), the bits of every value at {@code k * stride} plus the
     * value's index (the formats keep page and block/huge leaves in the halves of one table;
     * a power-of-two stride lets them mask the index instead of checking its range).
     */
    @SafeVarargs
    static long[] leafBitsTable(int stride, java.util.function.ToLongFunction<PageProt>... kinds) {
        if (stride < SIZE) {
            throw new IllegalArgumentException("stride " + stride + " < " + SIZE + " values");
        }
        long[] table = new long[kinds.length * stride];
        for (int k = 0; k < kinds.length; k++) {
            for (int i = 0; i < SIZE; i++) {
                table[k * stride + i] = kinds[k].applyAsLong(ALL[i]);
            }
        }
        return table;
    }

    /**
     * A format's decode table of {@code keys} entries: for each key, the value
     * {@code protIndex} gives for the entry word {@code word(key)} (the key's bits put back
     * where they sit in an entry).
     */
    static PageProt[] decodeTable(int keys, java.util.function.IntToLongFunction word,
            java.util.function.LongToIntFunction protIndex) {
        PageProt[] t = new PageProt[keys];
        for (int k = 0; k < keys; k++) {
            t[k] = ALL[protIndex.applyAsInt(word.applyAsLong(k))];
        }
        return t;
    }
}
