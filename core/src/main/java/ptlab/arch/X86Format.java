package ptlab.arch;

import ptlab.InvalidAddressException;

/**
 * x86-64 page-table entry format (4- and 5-level paging), as in Linux
 * {@code arch/x86/include/asm/pgtable_types.h}.
 *
 * <pre>
 *  63  62..59 58  57  56..52 51 ............................ 12 11  10   9   8   7   6   5   4   3   2   1   0
 * +---+------+---+---+------+---------------------------------+---+---+---+---+---+---+---+---+---+---+---+---+
 * |NX | PKEY |SD2|SW4| rsvd |  physical address [51:12]       |SD |UWP|SPC| G |PS | D | A |PCD|PWT|US |RW | P |
 * +---+------+---+---+------+---------------------------------+---+---+---+---+---+---+---+---+---+---+---+---+
 *   bit 7 is PS in a PUD/PMD (1G/2M leaf) and PAT in a PTE; bit 12 is PAT in a large leaf.
 *   Non-present: bit 8 is PROTNONE (pte_present true, hardware-invalid).
 * </pre>
 *
 * Table entries are {@code _PAGE_TABLE} (P|RW|US|A|D = 0x67) for user tables and
 * {@code _KERNPG_TABLE} (0x63) for kernel ones. Memory types use Linux's PAT layout:
 * WB = 0, WC = PWT, UC = PCD|PWT.
 */
public final class X86Format implements PteFormat {
    /** The x86-64 format (4- and 5-level paging share it). */
    public X86Format() {}

    public static final long P = 1L;
    public static final long RW = 1L << 1;
    public static final long US = 1L << 2;
    public static final long PWT = 1L << 3;
    public static final long PCD = 1L << 4;
    public static final long A = 1L << 5;
    public static final long D = 1L << 6;
    public static final long PS = 1L << 7;
    public static final long PAT = 1L << 7;
    public static final long G = 1L << 8;
    public static final long PROTNONE = G;
    public static final long SPECIAL = 1L << 9;
    public static final long UFFD_WP = 1L << 10;
    public static final long SOFT_DIRTY = 1L << 11;
    public static final long PAT_LARGE = 1L << 12;
    public static final long NX = 1L << 63;
    /** Physical address field [51:12]. */
    public static final long PA_MASK = 0x000F_FFFF_FFFF_F000L;
    public static final long PAGE_TABLE = P | RW | US | A | D;
    public static final long KERNPG_TABLE = P | RW | A | D;
    /** {@code _PAGE_KNL_ERRATUM_MASK}: A and D may be set spuriously in a none entry. */
    private static final long ERRATUM = A | D;

    @Override
    public String name() {
        return "x86-64";
    }

    @Override
    public int physAddrBits() {
        return 52;
    }

    @Override
    public boolean isNone(long e) {
        return (e & ~ERRATUM) == 0;
    }

    @Override
    public boolean isPresent(long e) {
        return (e & (P | PROTNONE)) != 0;
    }

    @Override
    public boolean isValid(long e) {
        return (e & P) != 0;
    }

    @Override
    public boolean isTable(Level level, long e) {
        return level != Level.PTE && (e & P) != 0 && (e & PS) == 0;
    }

    @Override
    public boolean isLeaf(Level level, long e) {
        if (level == Level.PTE) {
            return isPresent(e);
        }
        return isPresent(e) && (e & PS) != 0;
    }

    @Override
    public boolean isBad(Level level, long e) {
        if (level == Level.PTE || !isValid(e) || (e & PS) != 0) {
            return false;
        }
        // pmd_bad(): apart from US and A, a table entry carries exactly P|RW|D (NX included in the flags).
        long flags = e & ~PA_MASK;
        return (flags & ~(US | A)) != (KERNPG_TABLE & ~A);
    }

    @Override
    public long mkTable(Level level, long tablePa, TableKind kind) {
        checkPa(tablePa, 1L << 12);
        return tablePa | (kind == TableKind.USER ? PAGE_TABLE : KERNPG_TABLE);
    }

    @Override
    public long mkLeaf(Level level, long pa, PageProt prot) {
        if (level == Level.PTE) {
            if ((pa & PAGE_REJECT) != 0) {
                checkPa(pa, 1L << 12);
            }
            return pa | LEAF_BITS[prot.index() & LEAF_INDEX];
        }
        checkPa(pa, leafAlignment(level));
        return pa | LEAF_BITS[LEAF_HUGE + (prot.index() & LEAF_INDEX)];
    }

    /* The bits a 4K page's pa must not have: below 4K, above the address field. */
    private static final long PAGE_REJECT = ~PA_MASK;

    /*
     * Every leaf's flag bits, leafBits for each PageProt.index(): 4K pages, then from LEAF_HUGE
     * the PS (2M/1G) leaves. mkLeaf is pa | LEAF_BITS[i], free of the per-flag branches that
     * mispredict when protections vary. The index masked to its 9 bits and the table's known
     * length let the JIT drop the range check.
     */
    private static final int LEAF_INDEX = 511;
    private static final int LEAF_HUGE = 512;
    private static final long[] LEAF_BITS = ProtTable.leafBitsTable(LEAF_HUGE, p -> leafBits(false, p), p -> leafBits(true, p));

    /** The flag bits of a leaf with {@code prot}, PS set for a 2M/1G leaf ({@code pfn_pte} without the address). */
    private static long leafBits(boolean huge, PageProt prot) {
        long e = 0;
        if (prot.read()) {
            e |= P;
            if (prot.global()) {
                e |= G;
            }
        } else {
            e |= PROTNONE;
        }
        if (prot.write()) {
            e |= RW;
        }
        if (prot.user()) {
            e |= US;
        }
        if (prot.young()) {
            e |= A;
        }
        if (prot.dirty()) {
            e |= D;
        }
        if (!prot.exec()) {
            e |= NX;
        }
        if (huge) {
            e |= PS;
        }
        switch (prot.type()) {
            case NORMAL_NC:
                e |= PWT;
                break;
            case DEVICE:
                e |= PWT | PCD;
                break;
            default:
                break;
        }
        return e;
    }

    /** A 2M or 1G leaf's bit 12 is PAT, so its address must be aligned to the leaf size. */
    private static long leafAlignment(Level level) {
        switch (level) {
            case PMD:
                return 1L << 21;
            case PUD:
                return 1L << 30;
            default:
                return 1L << 12;
        }
    }

    private void checkPa(long pa, long align) {
        if ((pa & (align - 1)) != 0 || (pa & ~PA_MASK) != 0) {
            throw new InvalidAddressException("physical address 0x" + Long.toHexString(pa) + " is not 0x"
                    + Long.toHexString(align) + "-aligned below 2^52 (x86-64)");
        }
    }

    @Override
    public long outputAddress(Level level, long e) {
        if (level != Level.PTE && (e & PS) != 0) {
            return e & PA_MASK & ~PAT_LARGE;
        }
        return e & PA_MASK;
    }

    /**
     * One table lookup: the nine bits the protection depends on (P, RW, US, PWT, PCD, A, D, G
     * in bits 0-6 and 8, NX moved into bit 7, which the decode ignores) index {@link #PROT_BY_KEY}.
     */
    @Override
    public PageProt prot(Level level, long e) {
        return PROT_BY_KEY[(int) ((e & 0x17F) + (e >>> 56 & 0x80))];
    }

    /*
     * The decoded protection for each 9-bit key of prot(): protIndex evaluated once per key, so
     * a decode is four ALU operations and a load instead of protIndex's twenty or so
     * (EntryCodecBench.batchDecodeAddressAndProt went from 4.1-5.5 to about 1.3-2.3 ns per
     * entry; figures in EntryCodecBench).
     * The key is summed, not or-ed, from its masked parts, in long and narrowed once: C2 bounds a
     * sum of bounded values (an or it leaves unbounded), so the index into a table of known
     * length needs no range check, and no part needs a zero or sign extension.
     */
    private static final PageProt[] PROT_BY_KEY = ProtTable.decodeTable(512, k -> k & 0x17F | (long) (k & 0x80) << 56,
            X86Format::protIndex);

    /** The ProtTable index of a leaf's protection, the definition {@link #PROT_BY_KEY} caches. */
    static int protIndex(long e) {
        // P is READ (bit 0), RW is WRITE (bit 1), US moves up to USER (bit 3), A and D are
        // already YOUNG and DIRTY (bits 5, 6), G counts only when present (without P it is
        // PROTNONE), NX clear is EXEC. Type: PCD is DEVICE, else PWT is NORMAL_NC.
        int present = (int) e & 1;
        int exec = (int) (~e >>> 63);
        int global = (int) (e >>> 8) & present;
        int pcd = (int) (e >>> 4) & 1;
        int pwt = (int) (e >>> 3) & 1;
        int type = pcd << 1 | (pwt & ~pcd);
        return present | (int) e & (ProtTable.WRITE | ProtTable.YOUNG | ProtTable.DIRTY) | exec << 2
                | ((int) e & 4) << 1 | global << 4 | type << ProtTable.TYPE_SHIFT;
    }

    @Override
    public TableKind tableKind(Level level, long e) {
        return (e & US) != 0 ? TableKind.USER : TableKind.KERNEL;
    }

    @Override
    public long mkWrite(long e) {
        return e | RW;
    }

    @Override
    public long wrprotect(long e) {
        return e & ~RW;
    }

    @Override
    public boolean isWrite(long e) {
        return (e & RW) != 0;
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

    /** The CPU sets A on any access and D on a write through RW, each only while clear; never in a non-present entry. */
    @Override
    public boolean hardwareMayUpdate(long e) {
        return (e & P) != 0 && ((e & A) == 0 || ((e & RW) != 0 && (e & D) == 0));
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

    @Override
    public long mkHuge(long e) {
        return e | PS;
    }

    @Override
    public long mkCont(long e) {
        throw new UnsupportedOperationException("x86-64 has no contiguous bit");
    }

    @Override
    public long mkNonCont(long e) {
        return e;
    }

    @Override
    public boolean isCont(long e) {
        return false;
    }

    /**
     * {@code arch/x86/include/asm/pgtable_64.h}: type in bits 63..59, the offset inverted (L1TF:
     * a non-present entry must not point at real memory) in bits 58..9; P (0) and PROTNONE (8)
     * stay clear. SWP_OFFSET_SHIFT = 9 + 5.
     */
    @Override
    public long mkSwap(int type, long offset) {
        return (~offset << 14 >>> 5) | ((long) (type & 31) << 59);
    }
}
