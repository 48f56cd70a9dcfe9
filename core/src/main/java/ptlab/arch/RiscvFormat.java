package ptlab.arch;

import ptlab.InvalidAddressException;

/**
 * RISC-V Sv39/Sv48/Sv57 page-table entry format with Svpbmt and Svnapot, as in Linux
 * {@code arch/riscv/include/asm/pgtable-bits.h}, {@code pgtable-64.h} and {@code pgtable.h}.
 * Every level uses the same layout; the {@link Geometry} only says where leaves may stand.
 *
 * <pre>
 *  63   62..61  60..54   53 ..................... 10  9..8   7   6   5   4   3   2   1   0
 * +---+-------+--------+----------------------------+------+---+---+---+---+---+---+---+---+
 * | N | PBMT  |reserved|  PPN (physical address     | RSW  | D | A | G | U | X | W | R | V |
 * |   |       |        |  [55:12] = pa >>> 12)      |      |   |   |   |   |   |   |   |   |
 * +---+-------+--------+----------------------------+------+---+---+---+---+---+---+---+---+
 *   RSW bit 8 = _PAGE_SPECIAL. PBMT: 0 PMA (NORMAL), 1 NC (NORMAL_NC), 2 IO (DEVICE), 3 reserved.
 *   Leaf iff R|W|X (_PAGE_LEAF); a table entry is V alone (_PAGE_TABLE); W without R is reserved.
 *   Not valid (V = 0): G means PROT_NONE (_PAGE_PROT_NONE); PAGE_NONE is G|R.
 *   N (Svnapot) on a PTE-level leaf: a 64 KiB run of 16 identical PTEs whose PPN[3:0] = 0b1000
 *   encodes the size; the run's base is PPN with its lowest set bit cleared.
 *   For a non-leaf entry D, A, U, N and PBMT are reserved and must be zero.
 * </pre>
 *
 * There is no separate privileged-execute bit: {@code exec} is X at either privilege, and U
 * decides who may use the page (S-mode access to U pages needs SUM).
 */
public final class RiscvFormat implements PteFormat {
    public static final long V = 1L;
    public static final long R = 1L << 1;
    public static final long W = 1L << 2;
    public static final long X = 1L << 3;
    public static final long U = 1L << 4;
    public static final long G = 1L << 5;
    public static final long A = 1L << 6;
    public static final long D = 1L << 7;
    public static final int RSW_SHIFT = 8;
    public static final long RSW_MASK = 3L << RSW_SHIFT;
    public static final long SPECIAL = 1L << 8;
    public static final int PPN_SHIFT = 10;
    public static final int PPN_WIDTH = 44;
    public static final long PPN_MASK = ((1L << PPN_WIDTH) - 1) << PPN_SHIFT;
    public static final int PBMT_SHIFT = 61;
    public static final long PBMT_MASK = 3L << PBMT_SHIFT;
    public static final long PBMT_NC = 1L << PBMT_SHIFT;
    public static final long PBMT_IO = 2L << PBMT_SHIFT;
    /** Svnapot: the entry is one of a naturally aligned power-of-two run. */
    public static final long N = 1L << 63;
    /** {@code _PAGE_LEAF}. */
    public static final long LEAF = R | W | X;
    /** {@code _PAGE_TABLE}. */
    public static final long PAGE_TABLE = V;
    /** {@code _PAGE_PROT_NONE}: G on a non-valid entry. */
    public static final long PROT_NONE = G;
    /** Svnapot order Linux supports ({@code NAPOT_CONT64KB_ORDER}): 2^4 pages = 64 KiB. */
    public static final int NAPOT_ORDER = 4;
    /** PPN[3:0] of a 64 KiB NAPOT entry ({@code pte_mknapot}: bits 13:10 = 0b1000). */
    public static final long NAPOT_PPN_FIELD = ((1L << NAPOT_ORDER) - 1) << PPN_SHIFT;
    public static final long NAPOT_64K_PPN = 1L << (NAPOT_ORDER - 1 + PPN_SHIFT);

    private static final int PAGE_SHIFT = 12;
    private static final int PHYS_ADDR_BITS = PPN_WIDTH + PAGE_SHIFT;

    /** PBMT field per {@link MemType} ordinal: PMA, NC, IO. */
    private static final long[] PBMT_BITS = {0, PBMT_NC, PBMT_IO};
    /** MemType per PBMT value; 3 is reserved and decodes as DEVICE, the conservative reading. */
    private static final MemType[] MEM_TYPES = {MemType.NORMAL, MemType.NORMAL_NC, MemType.DEVICE, MemType.DEVICE};

    private final String name;
    private final long[] leafAlign = new long[5];
    /** Per level: the bits a leaf's pa must not have (below the leaf size, from bit 56 up). */
    private final long[] leafReject = new long[5];
    private final boolean[] leafAllowed = new boolean[5];

    /** @param geometry the Sv39, Sv48 or Sv57 geometry (4 KiB pages) */
    public RiscvFormat(Geometry geometry) {
        if (geometry.pageShift() != PAGE_SHIFT) {
            throw new IllegalArgumentException("RISC-V pages are 4 KiB, not shift " + geometry.pageShift());
        }
        for (Level l : Level.values()) {
            leafAlign[l.ordinal()] = geometry.entrySize(l) - 1;
            leafReject[l.ordinal()] = leafAlign[l.ordinal()] | -(1L << PHYS_ADDR_BITS);
            leafAllowed[l.ordinal()] = !geometry.isFolded(l) && geometry.leafAllowed(l);
        }
        this.name = "riscv-sv" + geometry.vaBits();
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public int physAddrBits() {
        return PHYS_ADDR_BITS;
    }

    /* ---- Predicates ---- */

    @Override
    public boolean isNone(long e) {
        return e == 0;
    }

    /**
     * {@code pte_present}: V or PROT_NONE. (Linux's THP {@code pmd_present} also counts an
     * invalidated leaf with R|W|X during a split; ptlab does not model that window.)
     */
    @Override
    public boolean isPresent(long e) {
        return (e & (V | PROT_NONE)) != 0;
    }

    @Override
    public boolean isValid(long e) {
        return (e & V) != 0;
    }

    @Override
    public boolean isTable(Level level, long e) {
        return level != Level.PTE && (e & (V | LEAF)) == V;
    }

    @Override
    public boolean isLeaf(Level level, long e) {
        if (level == Level.PTE) {
            return isPresent(e);
        }
        return isPresent(e) && (e & LEAF) != 0;
    }

    /**
     * A valid upper-level entry the hardware would fault on or Linux never writes: a reserved
     * W-without-R leaf, a leaf at a level without leaves, a misaligned superpage, a NAPOT
     * superpage, or a table entry with D, A, U, N or PBMT set.
     */
    @Override
    public boolean isBad(Level level, long e) {
        if (level == Level.PTE || (e & V) == 0) {
            return false;
        }
        if ((e & LEAF) == 0) {
            return (e & (D | A | U | N | PBMT_MASK)) != 0;
        }
        int l = level.ordinal();
        long pa = ((e & PPN_MASK) >>> PPN_SHIFT) << PAGE_SHIFT;
        return (e & (R | W)) == W || !leafAllowed[l] || (pa & leafAlign[l]) != 0 || (e & N) != 0;
    }

    /* ---- Encode ---- */

    /** {@code pmd_populate}: kernel and user tables are both {@code _PAGE_TABLE}. */
    @Override
    public long mkTable(Level level, long tablePa, TableKind kind) {
        checkPa("table", tablePa, (1L << PAGE_SHIFT) - 1);
        return toPpn(tablePa) | PAGE_TABLE;
    }

    @Override
    public long mkLeaf(Level level, long pa, PageProt prot) {
        if ((pa & leafReject[level.ordinal()]) != 0) {
            checkPa("leaf", pa, leafAlign[level.ordinal()]);
        }
        return toPpn(pa) | LEAF_BITS[prot.index() & LEAF_INDEX];
    }

    /*
     * Every leaf's flag bits, leafBits for each PageProt.index() (the same at every level):
     * mkLeaf looks them up instead of branching on each flag. The index masked to its 9 bits and
     * the table's known length let the JIT drop the range check.
     */
    private static final int LEAF_INDEX = 511;
    private static final long[] LEAF_BITS = ProtTable.leafBitsTable(LEAF_INDEX + 1, RiscvFormat::leafBits);

    private static long leafBits(PageProt prot) {
        long e = PBMT_BITS[prot.type().ordinal()] | (prot.young() ? A : 0) | (prot.dirty() ? D : 0);
        if (!prot.read()) {
            // PAGE_NONE = _PAGE_PROT_NONE | _PAGE_READ: R keeps it a leaf at upper levels.
            return e | PROT_NONE | R;
        }
        return e | V | R | (prot.write() ? W : 0) | (prot.exec() ? X : 0) | (prot.user() ? U : 0) | (prot.global() ? G : 0);
    }

    private void checkPa(String what, long pa, long alignMask) {
        if ((pa & alignMask) != 0 || (pa >>> PHYS_ADDR_BITS) != 0) {
            throw new InvalidAddressException(what + " physical address 0x" + Long.toHexString(pa)
                    + " is not 0x" + Long.toHexString(alignMask + 1) + "-aligned below 2^" + PHYS_ADDR_BITS + " (" + name + ")");
        }
    }

    private static long toPpn(long pa) {
        return (pa >>> PAGE_SHIFT) << PPN_SHIFT;
    }

    /* ---- Decode ---- */

    /** {@code pte_pfn}: for a NAPOT entry, the base of its run (PPN with the lowest set bit cleared). */
    @Override
    public long outputAddress(Level level, long e) {
        long ppn = (e & PPN_MASK) >>> PPN_SHIFT;
        if ((e & N) != 0) {
            ppn &= ppn - 1;
        }
        return ppn << PAGE_SHIFT;
    }

    /**
     * Decodes a leaf. A PROT_NONE leaf decodes as a user page ({@code pte_modify} drops U, so the
     * encoding cannot tell) with {@code global == false} (G is the PROT_NONE marker).
     */
    @Override
    public PageProt prot(Level level, long e) {
        // Key: the flag byte (R, bit 1, is ignored), PBMT (61, 62) in bits 8 and 9.
        return PROT_BY_KEY[(int) ((e & 0xFF) + (e >>> 53 & 0x300))];
    }

    /*
     * The decoded protection for each 10-bit key of prot(): protIndex evaluated once per key, so
     * a decode is a mask, a shift-and-mask and a load instead of a branch on V and two dependent
     * loads for the memory type (EntryCodecBench.batchDecodeAddressAndProt went from 3.1-3.9 to
     * about 1.3-2.7 ns per entry; figures in EntryCodecBench).
     * The key is summed, not or-ed, from its masked parts, in long and narrowed once: C2 bounds a
     * sum of bounded values (an or it leaves unbounded), so the index into a table of known
     * length needs no range check, and no part needs a zero or sign extension.
     */
    private static final PageProt[] PROT_BY_KEY = ProtTable.decodeTable(1024, k -> k & 0xFF | (long) (k & 0x300) << 53,
            RiscvFormat::protIndex);

    /** The ProtTable index of a leaf's protection, the definition {@link #PROT_BY_KEY} caches. */
    static int protIndex(long e) {
        int type = MEM_TYPES[(int) ((e & PBMT_MASK) >>> PBMT_SHIFT)].ordinal() << ProtTable.TYPE_SHIFT;
        // W, X, U, G, A, D (bits 2..7) sit one bit above ProtTable's WRITE..DIRTY (bits 1..6), and V is READ.
        int flags = (int) (e >>> 1) & (ProtTable.WRITE | ProtTable.EXEC | ProtTable.USER | ProtTable.GLOBAL
                | ProtTable.YOUNG | ProtTable.DIRTY);
        if ((e & V) != 0) {
            return ProtTable.READ | flags | type;
        }
        return (flags & ~ProtTable.GLOBAL) | ProtTable.USER | type;
    }

    /** Not encoded: every table entry is {@code _PAGE_TABLE}; reported as USER. */
    @Override
    public TableKind tableKind(Level level, long e) {
        return TableKind.USER;
    }

    @Override
    public boolean encodesTableKind() {
        return false;
    }

    /* ---- Linux helpers ---- */

    @Override
    public long mkWrite(long e) {
        return e | W;
    }

    @Override
    public long wrprotect(long e) {
        return e & ~W;
    }

    @Override
    public boolean isWrite(long e) {
        return (e & W) != 0;
    }

    @Override
    public long mkYoung(long e) {
        return e | A;
    }

    @Override
    public long mkOld(long e) {
        return e & ~A;
    }

    @Override
    public boolean isYoung(long e) {
        return (e & A) != 0;
    }

    /** Svadu: A on any access and D on a write through W, each only while clear; never in an invalid entry. */
    @Override
    public boolean hardwareMayUpdate(long e) {
        return (e & V) != 0 && ((e & A) == 0 || ((e & W) != 0 && (e & D) == 0));
    }

    @Override
    public long mkDirty(long e) {
        return e | D;
    }

    @Override
    public long mkClean(long e) {
        return e & ~D;
    }

    @Override
    public boolean isDirty(long e) {
        return (e & D) != 0;
    }

    /** {@code pte_mkhuge}: the identity; R|W|X already makes an upper-level entry a leaf. */
    @Override
    public long mkHuge(long e) {
        return e;
    }

    /**
     * {@code pte_mknapot(pte, NAPOT_CONT64KB_ORDER)}: N set, PPN[3:0] = 0b1000. Every PTE of the
     * 16-entry run holds this same value; the low PPN bits of {@code e} are dropped.
     */
    @Override
    public long mkCont(long e) {
        return (e & ~NAPOT_PPN_FIELD) | NAPOT_64K_PPN | N;
    }

    /** Clears N and the size encoding: the result maps the first page of the run. */
    @Override
    public long mkNonCont(long e) {
        return (e & N) != 0 ? e & ~(N | NAPOT_PPN_FIELD) : e;
    }

    @Override
    public boolean isCont(long e) {
        return (e & N) != 0;
    }

    /**
     * {@code arch/riscv/include/asm/pgtable.h}: type in bits 11..7, offset from bit 12; V (0) and
     * PROT_NONE (the G bit, 5) stay clear.
     */
    @Override
    public long mkSwap(int type, long offset) {
        return ((long) (type & 31) << 7) | ((offset & ((1L << 52) - 1)) << 12);
    }
}
