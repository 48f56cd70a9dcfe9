package ptlab.arch;

/**
 * Bit format of table words for one architecture. Every method is pure: it takes a raw
 * 64-bit word and returns a raw word or a fact about it. Levels are run-time levels; where
 * the encoding differs between a page (PTE level) and a block (upper level), the level says
 * which one is meant.
 *
 * <p>Predicates follow Linux: {@link #isNone} is {@code p?d_none}, {@link #isPresent} is
 * {@code pte_present} (valid or PROT_NONE), {@link #isValid} is what the hardware walker
 * accepts, {@link #isTable} is {@code p?d_table}/{@code !p?d_leaf} on a present entry,
 * {@link #isLeaf} is {@code p?d_leaf} (or a present PTE), {@link #isBad} is {@code p?d_bad}.
 */
public interface PteFormat {

    /** Short name of the format, e.g. {@code x86-64}. */
    String name();

    /** Highest physical-address bit + 1 the format can express. */
    int physAddrBits();

    boolean isNone(long e);

    boolean isPresent(long e);

    boolean isValid(long e);

    /** A present entry that points to a lower table (never true at PTE level). */
    boolean isTable(Level level, long e);

    /** A present leaf: any present PTE, or a block at an upper level. */
    boolean isLeaf(Level level, long e);

    /** A present upper-level entry that is neither a valid table nor an allowed leaf. */
    boolean isBad(Level level, long e);

    /** Table entry at {@code level} pointing to the table at {@code tablePa} ({@code p?d_populate}). */
    long mkTable(Level level, long tablePa, TableKind kind);

    /** Leaf at {@code level} mapping {@code pa} with {@code prot} ({@code pfn_pte}/{@code pfn_pmd}+{@code mkhuge}). */
    long mkLeaf(Level level, long pa, PageProt prot);

    /** Output address of a table or leaf entry (page or block aligned). */
    long outputAddress(Level level, long e);

    /** Protection of a leaf (PROT_NONE leaves decode with {@code read == false}). */
    PageProt prot(Level level, long e);

    /** Table-pointer kind encoded in a table entry (a fixed value where {@link #encodesTableKind()} is false). */
    TableKind tableKind(Level level, long e);

    /**
     * Whether table entries differ by {@link TableKind} (x86 US, arm64 PXNTable/UXNTable). RISC-V
     * writes {@code _PAGE_TABLE} for both, so a checker must not compare kinds there.
     */
    default boolean encodesTableKind() {
        return true;
    }

    /**
     * Whether the MMU may still write this leaf by itself (an accessed/dirty update). When it
     * cannot, software holding the PTE lock may replace the entry with a plain release-store
     * instead of an atomic exchange: no hardware update can be lost. Conservative default:
     * {@code true} (arm64's DBM turns a writable-clean entry dirty by clearing AP[2]).
     */
    default boolean hardwareMayUpdate(long e) {
        return true;
    }

    /** Full decode. */
    default Entry decode(Level level, long e, Geometry g) {
        if (isTable(level, e)) {
            return new Entry.Table(outputAddress(level, e), tableKind(level, e), e);
        }
        if (isLeaf(level, e)) {
            return new Entry.Leaf(outputAddress(level, e), g.entrySize(level), prot(level, e), isCont(e), e);
        }
        return new Entry.Absent(e);
    }

    /* ---- Linux helpers (pte_mkwrite etc.); the identities of mm/debug_vm_pgtable.c hold ---- */

    long mkWrite(long e);

    long wrprotect(long e);

    boolean isWrite(long e);

    long mkYoung(long e);

    long mkOld(long e);

    boolean isYoung(long e);

    long mkDirty(long e);

    long mkClean(long e);

    boolean isDirty(long e);

    /** Turns a PTE-level leaf encoding into an upper-level block encoding ({@code pmd_mkhuge}). */
    long mkHuge(long e);

    /** Sets the contiguous hint; throws {@link UnsupportedOperationException} where the format has none. */
    long mkCont(long e);

    long mkNonCont(long e);

    boolean isCont(long e);

    /** A PROT_NONE form of the leaf ({@code pte_modify(pte, PAGE_NONE)}). */
    default long mkProtNone(Level level, long e) {
        PageProt p = prot(level, e);
        return mkLeaf(level, outputAddress(level, e), new PageProt(false, false, false, p.user(), false, false, false, p.type()));
    }

    /* ---- swap entries (non-present, non-none PTEs) ---- */

    /**
     * A swap PTE for swap {@code type} (0..31) and page {@code offset} ({@code __swp_entry} +
     * {@code __swp_entry_to_pte}): not none, not present. The caller must not pass type 0 with
     * offset 0 where the format would make that word none (Linux never uses offset 0: it is the
     * swap header).
     */
    long mkSwap(int type, long offset);
}
