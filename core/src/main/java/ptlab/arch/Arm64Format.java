package ptlab.arch;

import ptlab.InvalidAddressException;

/**
 * arm64 VMSAv8-64 stage-1 descriptor format, as Linux uses it
 * ({@code arch/arm64/include/asm/pgtable-hwdef.h}, {@code pgtable-prot.h}, {@code pgtable.h}).
 * One instance serves one configuration: the granule, the physical-address size (and with it
 * where PA[51:48] lives) and the levels that may hold blocks come from the {@link Geometry}.
 *
 * <pre>
 * Page (L3, bits[1:0] = 11) and block (L0-L2, bits[1:0] = 01) descriptors:
 *  63  62..59  58  57  56  55  54  53  52  51  50  49 ........ 12 11  10  9..8   7    6   5   4..2     1   0
 * +---+------+---+---+---+---+---+---+---+---+---+----------------+---+---+----+----+----+---+-------+---+---+
 * |ign|POIdx |UWP|ign|SPC|DTY|UXN|PXN|CON|DBM|GP | output address |nG |AF | SH |AP2 |AP1 |NS |AttrIdx|T/B| V |
 * +---+------+---+---+---+---+---+---+---+---+---+----------------+---+---+----+----+----+---+-------+---+---+
 *   DBM = PTE_WRITE; AP2 = PTE_RDONLY; AP1 = PTE_USER; DTY = software PTE_DIRTY; SPC = PTE_SPECIAL.
 *   Not valid (V = 0): bit 11 is PTE_PRESENT_INVALID (PROT_NONE, pte_present but hardware-invalid).
 *
 * Table descriptors (L0-L2, bits[1:0] = 11):
 *  63     62..61   60       59       58..52   51 .......... 12  11  10   9..2   1   0
 * +-------+-------+--------+--------+--------+----------------+---+----+------+---+---+
 * |NSTable|APTable|UXNTable|PXNTable| ignored| next-level table|ign| AF | ign  | 1 | 1 |
 * +-------+-------+--------+--------+--------+----------------+---+----+------+---+---+
 *   table AF (bit 10) is only meaningful with FEAT_HAFT; Linux always sets it.
 *
 * Output address, per configuration:
 *   PA 48 bits:       bits 47:PAGE_SHIFT (47:12, 47:14, 47:16) = PA[47:PAGE_SHIFT]
 *   4K/16K LPA2 (52): bits 49:PAGE_SHIFT = PA[49:PAGE_SHIFT], bits 9:8 = PA[51:50] (no SH field:
 *                     Linux moves shareability into TCR_ELx.SH, PTE_MAYBE_SHARED = 0)
 *   64K, PA 52 bits:  bits 47:16 = PA[47:16], bits 15:12 = PA[51:48]
 * </pre>
 *
 * <p>Leaf encoding follows Linux's {@code PAGE_*} protections: a user page has AP[1], nG and
 * PXN, with UXN unless executable; a kernel page has UXN, with PXN unless executable, and nG
 * only when not global. AttrIndx follows Linux's MAIR layout: {@code MT_NORMAL} 0,
 * {@code MT_NORMAL_TAGGED} 1, {@code MT_NORMAL_NC} 2, {@code MT_DEVICE_nGnRnE} 3,
 * {@code MT_DEVICE_nGnRE} 4.
 */
public final class Arm64Format implements PteFormat {

    /* ---- Descriptor type, bits[1:0] ---- */
    public static final long VALID = 1L;
    /** Bit 1: table (L0-L2) or page (L3) when set; block when clear. */
    public static final long TABLE_BIT = 1L << 1;
    public static final long TYPE_MASK = 3L;
    public static final long TYPE_TABLE = 3L;
    public static final long TYPE_PAGE = 3L;
    public static final long TYPE_BLOCK = 1L;

    /* ---- Leaf (page and block) attributes ---- */
    public static final int ATTRINDX_SHIFT = 2;
    public static final int ATTRINDX_WIDTH = 3;
    public static final long ATTRINDX_MASK = 7L << ATTRINDX_SHIFT;
    public static final int MT_NORMAL = 0;
    public static final int MT_NORMAL_TAGGED = 1;
    public static final int MT_NORMAL_NC = 2;
    public static final int MT_DEVICE_NGNRNE = 3;
    public static final int MT_DEVICE_NGNRE = 4;
    /** AP[1]: EL0 access ({@code PTE_USER}). */
    public static final long USER = 1L << 6;
    /** AP[2]: read-only ({@code PTE_RDONLY}). */
    public static final long RDONLY = 1L << 7;
    public static final int SH_SHIFT = 8;
    public static final long SH_MASK = 3L << SH_SHIFT;
    /** SH = 0b11, inner shareable ({@code PTE_SHARED}). */
    public static final long SH_INNER = 3L << SH_SHIFT;
    /** Access flag. */
    public static final long AF = 1L << 10;
    /** Not global: the translation is tagged with the ASID. */
    public static final long NG = 1L << 11;
    /** {@code PTE_PRESENT_INVALID}: reuses nG, meaningful only when {@link #VALID} is clear. */
    public static final long PRESENT_INVALID = NG;
    /** BTI guarded page. */
    public static final long GP = 1L << 50;
    /** Dirty Bit Modifier; Linux's {@code PTE_WRITE}. */
    public static final long DBM = 1L << 51;
    public static final long WRITE = DBM;
    public static final long CONT = 1L << 52;
    public static final long PXN = 1L << 53;
    public static final long UXN = 1L << 54;
    /** Software dirty ({@code PTE_DIRTY}). */
    public static final long DIRTY = 1L << 55;
    public static final long SPECIAL = 1L << 56;
    public static final long UFFD_WP = 1L << 58;

    /* ---- Table attributes ---- */
    public static final long TABLE_AF = 1L << 10;
    public static final long PXN_TABLE = 1L << 59;
    public static final long UXN_TABLE = 1L << 60;
    public static final int AP_TABLE_SHIFT = 61;
    public static final long AP_TABLE_MASK = 3L << AP_TABLE_SHIFT;
    public static final long NS_TABLE = 1L << 63;

    /* ---- Output address ---- */
    /** LPA2: PA[51:50] in bits 9:8 ({@code PTE_ADDR_HIGH}, shift 42). */
    public static final long LPA2_ADDR_HIGH = 3L << 8;
    public static final int LPA2_ADDR_HIGH_SHIFT = 42;
    /** 64K with 52-bit PA: PA[51:48] in bits 15:12 ({@code PTE_ADDR_HIGH}, shift 36). */
    public static final long LPA64K_ADDR_HIGH = 0xFL << 12;
    public static final int LPA64K_ADDR_HIGH_SHIFT = 36;

    /** AttrIndx field per {@link MemType} ordinal: MT_NORMAL, MT_NORMAL_NC, MT_DEVICE_nGnRE. */
    private static final long[] ATTR_BITS = {
        (long) MT_NORMAL << ATTRINDX_SHIFT, (long) MT_NORMAL_NC << ATTRINDX_SHIFT, (long) MT_DEVICE_NGNRE << ATTRINDX_SHIFT,
    };
    /** MemType per AttrIndx; MAIR slots Linux leaves unused decode as DEVICE, the conservative reading. */
    private static final MemType[] MEM_TYPES = {
        MemType.NORMAL, MemType.NORMAL, MemType.NORMAL_NC, MemType.DEVICE,
        MemType.DEVICE, MemType.DEVICE, MemType.DEVICE, MemType.DEVICE,
    };
    /**
     * WRITE/RDONLY/DIRTY per (write, dirty), the table in arm64 {@code pgtable.h}: read-only clean,
     * read-only dirty (software DIRTY), writable clean (PAGE_SHARED: WRITE|RDONLY), writable dirty
     * (hardware-dirty, as PAGE_KERNEL).
     */
    private static final long[] WRITE_STATE = {RDONLY, RDONLY | DIRTY, WRITE | RDONLY, WRITE};

    private final String name;
    private final int pageShift;
    private final int physAddrBits;
    /** Output-address bits that hold PA bits at the same position. */
    private final long addrLow;
    /** Output-address bits that hold high PA bits shifted down by {@link #addrHighShift} (0 without 52-bit PA). */
    private final long addrHigh;
    private final int addrHighShift;
    /** {@code PTE_MAYBE_SHARED}: SH_INNER, or 0 under LPA2. */
    private final long shared;
    /** Per level: bytes one entry maps, minus one (alignment mask of a leaf's address). */
    private final long[] leafAlign = new long[5];
    /** Per level: the bits a leaf's pa must not have (below the leaf size, at or above {@link #physAddrBits}). */
    private final long[] leafReject = new long[5];
    private final boolean[] blockAllowed = new boolean[5];

    /**
     * @param geometry     the configuration's levels (granule, leaf levels, entry sizes)
     * @param physAddrBits 48, or 52 (LPA2 with 4K/16K, FEAT_LPA with 64K)
     */
    public Arm64Format(Geometry geometry, int physAddrBits) {
        this.pageShift = geometry.pageShift();
        if (pageShift != 12 && pageShift != 14 && pageShift != 16) {
            throw new IllegalArgumentException("arm64 granule shift must be 12, 14 or 16: " + pageShift);
        }
        if (physAddrBits != 48 && physAddrBits != 52) {
            throw new IllegalArgumentException("arm64 physical-address bits must be 48 or 52: " + physAddrBits);
        }
        this.physAddrBits = physAddrBits;
        long pageMask = (1L << pageShift) - 1;
        if (physAddrBits == 48) {
            addrLow = ((1L << 48) - 1) & ~pageMask;
            addrHigh = 0;
            addrHighShift = 0;
            shared = SH_INNER;
        } else if (pageShift == 16) {
            addrLow = ((1L << 48) - 1) & ~pageMask;
            addrHigh = LPA64K_ADDR_HIGH;
            addrHighShift = LPA64K_ADDR_HIGH_SHIFT;
            shared = SH_INNER;
        } else {
            addrLow = ((1L << 50) - 1) & ~pageMask;
            addrHigh = LPA2_ADDR_HIGH;
            addrHighShift = LPA2_ADDR_HIGH_SHIFT;
            shared = 0;
        }
        for (Level l : Level.values()) {
            leafAlign[l.ordinal()] = geometry.entrySize(l) - 1;
            leafReject[l.ordinal()] = leafAlign[l.ordinal()] | -(1L << physAddrBits);
            blockAllowed[l.ordinal()] = l != Level.PTE && !geometry.isFolded(l) && geometry.leafAllowed(l);
        }
        String mode = physAddrBits == 48 ? "pa48" : pageShift == 16 ? "pa52" : "lpa2";
        this.name = "arm64-" + (1 << (pageShift - 10)) + "k-" + mode;
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public int physAddrBits() {
        return physAddrBits;
    }

    /* ---- Predicates ---- */

    @Override
    public boolean isNone(long e) {
        return e == 0;
    }

    @Override
    public boolean isPresent(long e) {
        return (e & (VALID | PRESENT_INVALID)) != 0;
    }

    @Override
    public boolean isValid(long e) {
        return (e & VALID) != 0;
    }

    @Override
    public boolean isTable(Level level, long e) {
        return level != Level.PTE && (e & TYPE_MASK) == TYPE_TABLE;
    }

    @Override
    public boolean isLeaf(Level level, long e) {
        if (level == Level.PTE) {
            return isPresent(e);
        }
        // pmd_leaf(): present and not a table; a PROT_NONE block has bits[1:0] = 00.
        return isPresent(e) && (e & TYPE_MASK) != TYPE_TABLE;
    }

    /** A valid block at a level where this configuration maps none (e.g. a 64K-granule L1 block with 48-bit PA). */
    @Override
    public boolean isBad(Level level, long e) {
        return level != Level.PTE && (e & TYPE_MASK) == TYPE_BLOCK && !blockAllowed[level.ordinal()];
    }

    /* ---- Encode ---- */

    @Override
    public long mkTable(Level level, long tablePa, TableKind kind) {
        checkPa("table", tablePa, (1L << pageShift) - 1);
        // pmd_populate / pmd_populate_kernel and the pud/p4d/pgd variants.
        return toPteAddr(tablePa) | TYPE_TABLE | TABLE_AF | (kind == TableKind.USER ? PXN_TABLE : UXN_TABLE);
    }

    @Override
    public long mkLeaf(Level level, long pa, PageProt prot) {
        if ((pa & leafReject[level.ordinal()]) != 0) {
            checkPa("leaf", pa, leafAlign[level.ordinal()]);
        }
        return toPteAddr(pa) | shared | LEAF_BITS[(level == Level.PTE ? 0 : LEAF_BLOCK) + (prot.index() & LEAF_INDEX)];
    }

    /*
     * Every leaf's flag bits but PTE_MAYBE_SHARED, leafBits for each PageProt.index(): pages,
     * then blocks from LEAF_BLOCK. One load replaces a branch per flag. The table is static so
     * that the JIT knows its length: the index, masked to its 9 bits, needs no range check (a
     * sum, not an or, of the parts: C2 bounds the sum of two bounded ints, not their or).
     */
    private static final int LEAF_INDEX = 511;
    private static final int LEAF_BLOCK = 512;
    private static final long[] LEAF_BITS = ProtTable.leafBitsTable(LEAF_BLOCK, p -> leafBits(true, p), p -> leafBits(false, p));

    /** The flag bits of a page (L3) or block leaf with {@code prot}, without the address and PTE_MAYBE_SHARED. */
    private static long leafBits(boolean page, PageProt prot) {
        long type = page ? TYPE_PAGE : TYPE_BLOCK;
        long e = ATTR_BITS[prot.type().ordinal()] | (prot.young() ? AF : 0);
        if (!prot.read()) {
            // PAGE_NONE: invalid but present, read-only, never executable; a dirty page keeps PTE_DIRTY.
            return e | (type & ~VALID) | PRESENT_INVALID | RDONLY | PXN | UXN | (prot.dirty() ? DIRTY : 0);
        }
        boolean exec = prot.exec();
        // Linux never maps a global user page: every _PAGE_SHARED/_PAGE_READONLY* has PTE_NG.
        long access = prot.user()
                ? USER | NG | PXN | (exec ? 0 : UXN)
                : UXN | (exec ? 0 : PXN) | (prot.global() ? 0 : NG);
        return e | type | access | WRITE_STATE[(prot.write() ? 2 : 0) | (prot.dirty() ? 1 : 0)];
    }

    private void checkPa(String what, long pa, long alignMask) {
        if ((pa & alignMask) != 0 || (pa >>> physAddrBits) != 0) {
            throw new InvalidAddressException(what + " physical address 0x" + Long.toHexString(pa)
                    + " is not 0x" + Long.toHexString(alignMask + 1) + "-aligned below 2^" + physAddrBits + " (" + name + ")");
        }
    }

    /**
     * {@code __phys_to_pte_val}. With 48-bit PA nothing moves: the test spares a variable shift
     * per entry, and a caller's loop hoists it (the field is final).
     */
    private long toPteAddr(long pa) {
        if (addrHigh == 0) {
            return pa & addrLow;
        }
        return (pa & addrLow) | ((pa >>> addrHighShift) & addrHigh);
    }

    /* ---- Decode ---- */

    @Override
    public long outputAddress(Level level, long e) {
        long pa = fromPteAddr(e);
        // A block's address bits below its size are RES0 or other fields (nT); pmd_pfn masks with
        // PMD_MASK. At PTE level addrLow already cut the bits below the page.
        if (level == Level.PTE || (e & TABLE_BIT) != 0) {
            return pa;
        }
        return pa & ~leafAlign[level.ordinal()];
    }

    /** {@code __pte_to_phys}; the 48-bit PA test as in {@link #toPteAddr}. */
    private long fromPteAddr(long e) {
        if (addrHigh == 0) {
            return e & addrLow;
        }
        return (e & addrLow) | ((e & addrHigh) << addrHighShift);
    }

    /**
     * Decodes a leaf. A PROT_NONE leaf decodes as a user page ({@code pte_protnone} requires
     * AP[1] clear, so the encoding cannot tell) with {@code global == false}.
     */
    @Override
    public PageProt prot(Level level, long e) {
        // The twelve bits the protection depends on, gathered into a key: V, AttrIndx, AP[1],
        // AP[2], AF and nG stay in bits 0-11 (0xCDD); DBM (51) and DIRTY (55) drop into the
        // unused bits 1 and 5; PXN and UXN (53, 54) into bits 8 and 9 (SH, or PA[51:50] under
        // LPA2, which the decode ignores).
        return PROT_BY_KEY[(int) ((e & 0xCDD) + (e >>> 50 & 0x22) + (e >>> 45 & 0x300))];
    }

    /*
     * The decoded protection for each 12-bit key of prot(): protIndex evaluated once per key (16
     * KiB of references, of which a workload touches the few lines its protections use). A
     * decode is three shift-and-mask pairs and a load instead of protIndex's two dependent loads
     * for the memory type, a variable shift and some twenty operations
     * (EntryCodecBench.batchDecodeAddressAndProt went from 6.3-9.8 to about 1.6-2.9 ns per
     * entry; figures in EntryCodecBench).
     * The key is summed, not or-ed, from its masked parts, in long and narrowed once: C2 bounds a
     * sum of bounded values (an or it leaves unbounded), so the index into a table of known
     * length needs no range check, and no part needs a zero or sign extension.
     */
    private static final PageProt[] PROT_BY_KEY = ProtTable.decodeTable(4096,
            k -> k & 0xCDD | (long) (k & 0x22) << 50 | (long) (k & 0x300) << 45, Arm64Format::protIndex);

    /**
     * The ProtTable index of a leaf's protection, the definition {@link #PROT_BY_KEY} caches. An
     * invalid (PROT_NONE) entry reads as a user page, not global, not readable; its XN bit is
     * then UXN, as for any user page.
     */
    static int protIndex(long e) {
        int valid = (int) e & 1;
        int write = (int) (e >>> 51) & 1; // DBM
        // pte_dirty: software DIRTY, or WRITE with RDONLY clear.
        int dirty = (int) (e >>> 55) & 1 | write & ~(int) (e >>> 7) & 1;
        int young = (int) (e >>> 10) & 1;
        int user = (int) (e >>> 6) & 1 | (valid ^ 1);
        // The XN bit for the page's own privilege: PXN (53) for a kernel page, UXN (54) for a user page.
        int exec = ~(int) (e >>> (53 + user)) & 1;
        int global = valid & ~(int) (e >>> 11) & 1;
        int type = MEM_TYPES[(int) ((e & ATTRINDX_MASK) >>> ATTRINDX_SHIFT)].ordinal();
        return valid | write << 1 | exec << 2 | user << 3 | global << 4 | young << 5 | dirty << 6
                | type << ProtTable.TYPE_SHIFT;
    }



    @Override
    public TableKind tableKind(Level level, long e) {
        return (e & PXN_TABLE) != 0 ? TableKind.USER : TableKind.KERNEL;
    }

    /* ---- Linux helpers (arch/arm64/include/asm/pgtable.h) ---- */

    /** {@code pte_mkwrite_novma}: PTE_WRITE set, PTE_RDONLY cleared. */
    @Override
    public long mkWrite(long e) {
        return (e | WRITE) & ~RDONLY;
    }

    /** {@code pte_wrprotect}: a hardware-dirty entry keeps its dirtiness in PTE_DIRTY. */
    @Override
    public long wrprotect(long e) {
        if (isHwDirty(e)) {
            e |= DIRTY;
        }
        return (e & ~WRITE) | RDONLY;
    }

    @Override
    public boolean isWrite(long e) {
        return (e & WRITE) != 0;
    }

    @Override
    public long mkYoung(long e) {
        return e | AF;
    }

    @Override
    public long mkOld(long e) {
        return e & ~AF;
    }

    @Override
    public boolean isYoung(long e) {
        return (e & AF) != 0;
    }

    /** {@code pte_mkdirty}: PTE_DIRTY, and hardware-writable if PTE_WRITE. */
    @Override
    public long mkDirty(long e) {
        e |= DIRTY;
        return (e & WRITE) != 0 ? e & ~RDONLY : e;
    }

    /** {@code pte_mkclean}: PTE_DIRTY cleared, PTE_RDONLY set (DBM will set it writable again on write). */
    @Override
    public long mkClean(long e) {
        return (e & ~DIRTY) | RDONLY;
    }

    /** {@code pte_dirty}: software PTE_DIRTY, or hardware-dirty (PTE_WRITE and not PTE_RDONLY). */
    @Override
    public boolean isDirty(long e) {
        return (e & DIRTY) != 0 || isHwDirty(e);
    }

    private static boolean isHwDirty(long e) {
        return (e & (WRITE | RDONLY)) == WRITE;
    }

    /** {@code pmd_mkhuge}: type becomes block; the valid bit is kept (a PROT_NONE entry stays present-invalid). */
    @Override
    public long mkHuge(long e) {
        return e & ~TABLE_BIT;
    }

    @Override
    public long mkCont(long e) {
        return e | CONT;
    }

    @Override
    public long mkNonCont(long e) {
        return e & ~CONT;
    }

    @Override
    public boolean isCont(long e) {
        return (e & CONT) != 0;
    }

    /**
     * {@code arch/arm64/include/asm/pgtable.h} (6.10+): type in bits 7..3, offset in bits 57..12;
     * VALID (0) and PRESENT_INVALID stay clear.
     */
    @Override
    public long mkSwap(int type, long offset) {
        return ((long) (type & 31) << 3) | ((offset & ((1L << 46) - 1)) << 12);
    }
}
