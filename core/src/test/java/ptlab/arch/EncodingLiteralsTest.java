package ptlab.arch;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Hand-computed descriptor values, checked both ways: encoding gives the literal and decoding
 * the literal gives back the fields. Each literal was worked out from the bit positions in the
 * manuals and Linux headers (comments show the arithmetic), not printed by the code under test.
 * Sources: x86 {@code pgtable_types.h}; arm64 {@code pgtable-hwdef.h}, {@code pgtable-prot.h},
 * {@code pgalloc.h}; RISC-V {@code pgtable-bits.h}, {@code pgtable-64.h}.
 */
final class EncodingLiteralsTest {

    /** One literal: a table (kind != null) or a leaf (prot != null) of one architecture. */
    record Literal(String arch, Level level, long pa, TableKind kind, PageProt prot, PageProt decoded, long raw) {
        @Override
        public String toString() {
            return arch + " " + level + (kind != null ? " table " + kind : " " + prot) + " = 0x" + Long.toHexString(raw);
        }
    }

    private static Literal table(String arch, Level level, long pa, TableKind kind, long raw) {
        return new Literal(arch, level, pa, kind, null, null, raw);
    }

    private static Literal leaf(String arch, Level level, long pa, PageProt prot, long raw) {
        return new Literal(arch, level, pa, null, prot, prot, raw);
    }

    private static Literal protNone(String arch, Level level, long pa, PageProt prot, PageProt decoded, long raw) {
        return new Literal(arch, level, pa, null, prot, decoded, raw);
    }

    static List<Literal> literals() {
        List<Literal> l = new ArrayList<>();
        /* ---- x86-64: P 0, RW 1, US 2, PWT 3, PCD 4, A 5, D 6, PS 7, G 8, NX 63 ---- */
        for (String x86 : new String[] {"x86_64-4l", "x86_64-5l"}) {
            // 0x12345000 | P|RW|US|A|D (1+2+4+0x20+0x40 = 0x67) = _PAGE_TABLE
            l.add(table(x86, Level.PMD, 0x1234_5000L, TableKind.USER, 0x0000_0000_1234_5067L));
            // 0x12345000 | P|RW|A|D (0x63) = _KERNPG_TABLE
            l.add(table(x86, Level.PUD, 0x1234_5000L, TableKind.KERNEL, 0x0000_0000_1234_5063L));
            // NX (1<<63) | 0x12345000 | P|RW|US|A|D (0x67)
            l.add(leaf(x86, Level.PTE, 0x1234_5000L, PageProt.USER_RW, 0x8000_0000_1234_5067L));
            // NX | 0xFEE00000 | P|RW|PWT|PCD|A|D|G (1+2+8+0x10+0x20+0x40+0x100 = 0x17B): UC
            l.add(leaf(x86, Level.PTE, 0xFEE0_0000L, PageProt.KERNEL_RW.withType(MemType.DEVICE), 0x8000_0000_FEE0_017BL));
            // 2M: NX | 0x40600000 | P|RW|A|D|PS|G (1+2+0x20+0x40+0x80+0x100 = 0x1E3)
            l.add(leaf(x86, Level.PMD, 0x4060_0000L, PageProt.KERNEL_RW, 0x8000_0000_4060_01E3L));
            // 1G: 0x80000000 | P|A|PS|G (1+0x20+0x80+0x100 = 0x1A1), executable so no NX
            l.add(leaf(x86, Level.PUD, 0x8000_0000L, PageProt.KERNEL_ROX, 0x0000_0000_8000_01A1L));
        }

        /* ---- arm64, 48-bit PA: type 1:0, AttrIndx 4:2, AP1/USER 6, AP2/RDONLY 7, SH 9:8, AF 10, nG 11,
                WRITE/DBM 51, PXN 53, UXN 54, DIRTY 55; tables: AF 10, PXNTable 59, UXNTable 60 ---- */
        for (String a : new String[] {"arm64-4k-39", "arm64-4k-48"}) {
            // 4K leaf, PAGE_SHARED dirtied by hardware: UXN|PXN|WRITE (1<<54|1<<53|1<<51 = 0x0068<<48)
            //   | 0x81234000 | nG 0x800 | AF 0x400 | SH 0x300 | USER 0x40 | page 0b11 = 0xF43
            l.add(leaf(a, Level.PTE, 0x8123_4000L, PageProt.USER_RW, 0x0068_0000_8123_4F43L));
            // 2M block = PROT_SECT_NORMAL: UXN|PXN|WRITE | 0x40600000 | AF|SH|block 0b01 = 0x701
            l.add(leaf(a, Level.PMD, 0x4060_0000L, PageProt.KERNEL_RW, 0x0068_0000_4060_0701L));
        }
        // arm64-4k-39 folds PUD: the PGD maps 1G. PXNTable (1<<59) | 0x81234000 | AF 0x400 | table 0b11
        l.add(table("arm64-4k-39", Level.PGD, 0x8123_4000L, TableKind.USER, 0x0800_0000_8123_4403L));
        // 1G block = _PAGE_KERNEL_ROX as a section: UXN (0x0040<<48) | 0x80000000 | AF|SH|RDONLY 0x80|block = 0x781
        l.add(leaf("arm64-4k-39", Level.PGD, 0x8000_0000L, PageProt.KERNEL_ROX, 0x0040_0000_8000_0781L));
        // pmd_populate: PXNTable | 0x81234000 | AF | table = 0x403
        l.add(table("arm64-4k-48", Level.PMD, 0x8123_4000L, TableKind.USER, 0x0800_0000_8123_4403L));
        // pud_populate for init_mm: UXNTable (1<<60) | 0x81234000 | AF | table
        l.add(table("arm64-4k-48", Level.PUD, 0x8123_4000L, TableKind.KERNEL, 0x1000_0000_8123_4403L));
        l.add(leaf("arm64-4k-48", Level.PUD, 0x8000_0000L, PageProt.KERNEL_ROX, 0x0040_0000_8000_0781L));
        // PROT_DEVICE_nGnRE: UXN|PXN|WRITE | 0x09000000 | AF|SH|AttrIndx 4 (4<<2 = 0x10)|page = 0x713
        l.add(leaf("arm64-4k-48", Level.PTE, 0x0900_0000L, PageProt.KERNEL_RW.withType(MemType.DEVICE),
                0x0068_0000_0900_0713L));
        // PAGE_NONE: UXN|PXN (0x0060<<48) | 0x81234000 | PRESENT_INVALID 0x800 | AF 0x400 | SH 0x300
        //   | RDONLY 0x80 | page type without VALID (0b10) = 0xF82
        l.add(protNone("arm64-4k-48", Level.PTE, 0x8123_4000L, PageProt.USER_NONE.withYoung(true),
                PageProt.USER_NONE.withYoung(true), 0x0060_0000_8123_4F82L));

        /* ---- arm64 LPA2 (4K/16K, 52-bit): PA[49:PAGE_SHIFT] in place, PA[51:50] in bits 9:8, no SH ---- */
        // 0xF_1234_5678_9000: PA[49:12] = 0x3_1234_5678_9000, PA[51:50] = 0b11 -> 0x300;
        //   PXNTable | that | AF | table = 0x0803_1234_5678_9703
        l.add(table("arm64-4k-52", Level.PUD, 0x000F_1234_5678_9000L, TableKind.USER, 0x0803_1234_5678_9703L));
        // PAGE_READONLY: UXN|PXN (0x0060<<48) | 0x3_1234_5678_9000 | 0x300 | nG|AF|RDONLY|USER|page (0xCC3) = ...9FC3
        l.add(leaf("arm64-4k-52", Level.PTE, 0x000F_1234_5678_9000L, PageProt.USER_READ, 0x0063_1234_5678_9FC3L));
        // 2M at 0xC_0000_0020_0000: PA[49:21] = 0x20_0000, PA[51:50] = 0b11 -> 0x300; UXN|PXN|WRITE | AF|block (0x401)
        l.add(leaf("arm64-4k-52", Level.PMD, 0x000C_0000_0020_0000L, PageProt.KERNEL_RW, 0x0068_0000_0020_0701L));
        // 1G at 0x4_0000_4000_0000: PA[51:50] = 0b01 -> 0x100; UXN | 0x4000_0000 | AF|RDONLY|block (0x481) = 0x581
        l.add(leaf("arm64-4k-52", Level.PUD, 0x0004_0000_4000_0000L, PageProt.KERNEL_ROX, 0x0040_0000_4000_0581L));
        // 16K, PA 0xF_0000_0000_4000: PA[49:14] = 0x3_0000_0000_4000, 0x300 | AF | table | PXNTable
        l.add(table("arm64-16k-52", Level.PGD, 0x000F_0000_0000_4000L, TableKind.USER, 0x0803_0000_0000_4703L));
        // PA 0x8_0000_1234_C000: PA[49:14] = 0x1234_C000, PA[51:50] = 0b10 -> 0x200;
        //   UXN|PXN|WRITE | nG|AF|USER|page (0xC43) | 0x200 = 0xE43
        l.add(leaf("arm64-16k-52", Level.PTE, 0x0008_0000_1234_C000L, PageProt.USER_RW, 0x0068_0000_1234_CE43L));
        // 32M: UXN|PXN|WRITE | 0x42000000 | AF|block = 0x401 (no SH under LPA2)
        l.add(leaf("arm64-16k-52", Level.PMD, 0x4200_0000L, PageProt.KERNEL_RW, 0x0068_0000_4200_0401L));
        // 64G at 0xC_0010_0000_0000: PA[49:36] = 0x10_0000_0000, 0b11 -> 0x300; UXN | AF|RDONLY|block (0x481) | 0x300
        l.add(leaf("arm64-16k-52", Level.PUD, 0x000C_0010_0000_0000L, PageProt.KERNEL_ROX, 0x0040_0010_0000_0781L));

        /* ---- arm64 16K, 48-bit PA ---- */
        // 2 levels: the PGD holds PMD entries (32M). PXNTable | 0x81234000 | AF | table
        l.add(table("arm64-16k-36", Level.PGD, 0x8123_4000L, TableKind.USER, 0x0800_0000_8123_4403L));
        // PAGE_READONLY_EXEC: PXN (0x0020<<48) | 0x81234000 | nG|AF|SH|RDONLY|USER|page = 0xFC3
        l.add(leaf("arm64-16k-36", Level.PTE, 0x8123_4000L, PageProt.USER_RX, 0x0020_0000_8123_4FC3L));
        // 32M block at the PGD: UXN|PXN|WRITE | 0x42000000 | AF|SH|block = 0x701
        l.add(leaf("arm64-16k-36", Level.PGD, 0x4200_0000L, PageProt.KERNEL_RW, 0x0068_0000_4200_0701L));
        // pmd_populate_kernel: UXNTable | 0x81234000 | AF | table
        l.add(table("arm64-16k-47", Level.PMD, 0x8123_4000L, TableKind.KERNEL, 0x1000_0000_8123_4403L));
        // PAGE_KERNEL_RO at the top 16K page below 2^48: UXN|PXN | 0xFFFF_FFFF_C000 | AF|SH|RDONLY|page = 0x783
        l.add(leaf("arm64-16k-47", Level.PTE, 0x0000_FFFF_FFFF_C000L, PageProt.KERNEL_RO, 0x0060_FFFF_FFFF_C783L));
        // 32M user block: UXN|PXN|WRITE | 0x42000000 | nG|AF|SH|USER|block = 0xF41
        l.add(leaf("arm64-16k-47", Level.PMD, 0x4200_0000L, PageProt.USER_RW, 0x0068_0000_4200_0F41L));

        /* ---- arm64 64K: 48-bit PA in 47:16; 52-bit PA puts PA[51:48] in bits 15:12 ---- */
        l.add(table("arm64-64k-42", Level.PGD, 0x1234_0000L, TableKind.KERNEL, 0x1000_0000_1234_0403L));
        // UXN|PXN | 0x12340000 | nG|AF|SH|RDONLY|USER|page = 0xFC3
        l.add(leaf("arm64-64k-42", Level.PTE, 0x1234_0000L, PageProt.USER_READ, 0x0060_0000_1234_0FC3L));
        // 512M at the PGD (PMD folded): UXN|PXN|WRITE | 0x60000000 | AF|SH|block = 0x701
        l.add(leaf("arm64-64k-42", Level.PGD, 0x6000_0000L, PageProt.KERNEL_RW, 0x0068_0000_6000_0701L));
        l.add(table("arm64-64k-48", Level.PGD, 0x1234_0000L, TableKind.USER, 0x0800_0000_1234_0403L));
        // PAGE_KERNEL_EXEC: UXN|WRITE (0x0048<<48) | 0xABCD_0001_0000 | AF|SH|page = 0x703
        l.add(leaf("arm64-64k-48", Level.PTE, 0x0000_ABCD_0001_0000L, PageProt.KERNEL_RWX, 0x0048_ABCD_0001_0703L));
        // 512M user exec: PXN (0x0020<<48) | 0x8000_2000_0000 | nG|AF|SH|RDONLY|USER|block = 0xFC1
        l.add(leaf("arm64-64k-48", Level.PMD, 0x0000_8000_2000_0000L, PageProt.USER_RX, 0x0020_8000_2000_0FC1L));
        // PA 0xA_0000_1234_0000: PA[47:16] = 0x1234_0000, PA[51:48] = 0xA -> 0xA000; UXNTable | AF | table
        l.add(table("arm64-64k-52", Level.PMD, 0x000A_0000_1234_0000L, TableKind.KERNEL, 0x1000_0000_1234_A403L));
        // top 64K page: 0xFFFF_FFFF_0000 | PA[51:48] 0xF -> 0xF000 | nG|AF|SH|USER|page (0xF43); UXN|PXN|WRITE
        l.add(leaf("arm64-64k-52", Level.PTE, 0x000F_FFFF_FFFF_0000L, PageProt.USER_RW, 0x0068_FFFF_FFFF_FF43L));
        // 512M at 0x1_0000_2000_0000: 0x2000_0000 | 0x1000 | 0x701; UXN|PXN|WRITE
        l.add(leaf("arm64-64k-52", Level.PMD, 0x0001_0000_2000_0000L, PageProt.KERNEL_RW, 0x0068_0000_2000_1701L));
        // 4T at 0x5_0400_0000_0000: 0x400_0000_0000 | 0x5000 | AF|SH|RDONLY|block (0x781); UXN
        l.add(leaf("arm64-64k-52", Level.PGD, 0x0005_0400_0000_0000L, PageProt.KERNEL_ROX, 0x0040_0400_0000_5781L));

        /* ---- RISC-V: V 0, R 1, W 2, X 3, U 4, G 5, A 6, D 7, PPN 53:10 = pa >> 12 << 10, PBMT 62:61 ---- */
        for (String rv : new String[] {"riscv-sv39", "riscv-sv48", "riscv-sv57"}) {
            // PPN 0x80201 << 10 = 0x2008_0400 | D|A|U|W|R|V (0x80+0x40+0x10+4+2+1 = 0xD7)
            l.add(leaf(rv, Level.PTE, 0x8020_1000L, PageProt.USER_RW, 0x0000_0000_2008_04D7L));
            // _PAGE_KERNEL: PPN 0x80400 << 10 = 0x2010_0000 | D|A|G|W|R|V (0xE7)
            l.add(leaf(rv, Level.PMD, 0x8040_0000L, PageProt.KERNEL_RW, 0x0000_0000_2010_00E7L));
            // PAGE_NONE = G|R without V: 0x2008_0400 | 0x20 | 0x2
            l.add(protNone(rv, Level.PTE, 0x8020_1000L, PageProt.USER_NONE, PageProt.USER_NONE, 0x0000_0000_2008_0422L));
            // _PAGE_IOREMAP: PBMT IO (2<<61 = 1<<62) | PPN 0x10000 << 10 = 0x400_0000 | 0xE7
            l.add(leaf(rv, Level.PTE, 0x1000_0000L, PageProt.KERNEL_RW.withType(MemType.DEVICE), 0x4000_0000_0400_00E7L));
            // highest page: PPN 0xFFF_FFFF_FFFF << 10 = 0x3F_FFFF_FFFF_FC00 | A|U|R|V (0x53)
            l.add(leaf(rv, Level.PTE, 0x00FF_FFFF_FFFF_F000L, PageProt.USER_READ, 0x003F_FFFF_FFFF_FC53L));
        }
        // _PAGE_TABLE: PPN 0x80200 << 10 = 0x2008_0000 | V
        l.add(table("riscv-sv39", Level.PMD, 0x8020_0000L, TableKind.USER, 0x0000_0000_2008_0001L));
        l.add(table("riscv-sv48", Level.PUD, 0x8020_0000L, TableKind.USER, 0x0000_0000_2008_0001L));
        l.add(table("riscv-sv57", Level.PGD, 0x8020_0000L, TableKind.USER, 0x0000_0000_2008_0001L));
        // 1G: PPN 0x100000 << 10 = 0x4000_0000 | A|G|X|R|V (0x40+0x20+8+2+1 = 0x6B)
        l.add(leaf("riscv-sv39", Level.PGD, 0x1_0000_0000L, PageProt.KERNEL_ROX, 0x0000_0000_4000_006BL));
        l.add(leaf("riscv-sv48", Level.PUD, 0x1_0000_0000L, PageProt.KERNEL_ROX, 0x0000_0000_4000_006BL));
        l.add(leaf("riscv-sv57", Level.PUD, 0x1_0000_0000L, PageProt.KERNEL_ROX, 0x0000_0000_4000_006BL));
        // 512G: PPN (2^39 >> 12 = 0x800_0000) << 10 = 0x20_0000_0000 | 0xE7
        l.add(leaf("riscv-sv48", Level.PGD, 0x80_0000_0000L, PageProt.KERNEL_RW, 0x0000_0020_0000_00E7L));
        l.add(leaf("riscv-sv57", Level.P4D, 0x80_0000_0000L, PageProt.KERNEL_RW, 0x0000_0020_0000_00E7L));
        // 256T: PPN 2^36 << 10 = 2^46 = 0x4000_0000_0000 | 0xE7
        l.add(leaf("riscv-sv57", Level.PGD, 0x0001_0000_0000_0000L, PageProt.KERNEL_RW, 0x0000_4000_0000_00E7L));
        return l;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("literals")
    void encodingGivesTheLiteral(Literal x) {
        PteFormat f = Architectures.byName(x.arch()).format();
        long e = x.kind() != null ? f.mkTable(x.level(), x.pa(), x.kind()) : f.mkLeaf(x.level(), x.pa(), x.prot());
        assertThat(Long.toHexString(e)).as("%s", x).isEqualTo(Long.toHexString(x.raw()));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("literals")
    void decodingTheLiteralGivesTheFields(Literal x) {
        Architecture a = Architectures.byName(x.arch());
        PteFormat f = a.format();
        Entry expected;
        if (x.kind() != null) {
            TableKind kind = f.encodesTableKind() ? x.kind() : f.tableKind(x.level(), x.raw());
            expected = new Entry.Table(x.pa(), kind, x.raw());
        } else {
            expected = new Entry.Leaf(x.pa(), a.geometry().entrySize(x.level()), x.decoded(), false, x.raw());
        }
        assertThat(f.decode(x.level(), x.raw(), a.geometry())).isEqualTo(expected);
        assertThat(f.isValid(x.raw())).isEqualTo(x.kind() != null || x.prot().read());
    }

    @Test
    void everyArchitectureHasATableAndEveryLeafSize() {
        Set<String> have = new HashSet<>();
        for (Literal x : literals()) {
            have.add(x.arch() + (x.kind() != null ? " table" : " " + x.level()));
        }
        for (Architecture a : Architectures.all()) {
            assertThat(have).contains(a.name() + " table");
            for (Level l : Samples.leafLevels(a.geometry())) {
                assertThat(have).contains(a.name() + " " + l);
            }
        }
    }

    /** Svnapot 64K: PPN 0x80210 -> 0x80218 (PPN[3:0] = 0b1000), << 10 = 0x2008_6000 | 0xD7 | N (1<<63). */
    @Test
    void svnapotLiteral() {
        PteFormat f = Architectures.byName("riscv-sv39").format();
        long raw = 0x8000_0000_2008_60D7L;
        assertThat(Long.toHexString(f.mkCont(f.mkLeaf(Level.PTE, 0x8021_0000L, PageProt.USER_RW)))).isEqualTo(Long.toHexString(raw));
        assertThat(f.outputAddress(Level.PTE, raw)).isEqualTo(0x8021_0000L);
        assertThat(f.isCont(raw)).isTrue();
        assertThat(f.prot(Level.PTE, raw)).isEqualTo(PageProt.USER_RW);
    }

    /** arm64 CONT (bit 52) on the 4K user page literal: 0x0068... | 0x0010 << 48. */
    @Test
    void arm64ContLiteral() {
        PteFormat f = Architectures.byName("arm64-4k-48").format();
        long raw = 0x0078_0000_8123_4F43L;
        assertThat(Long.toHexString(f.mkCont(f.mkLeaf(Level.PTE, 0x8123_4000L, PageProt.USER_RW)))).isEqualTo(Long.toHexString(raw));
        assertThat(f.decode(Level.PTE, raw, Architectures.byName("arm64-4k-48").geometry()))
                .isEqualTo(new Entry.Leaf(0x8123_4000L, 4096, PageProt.USER_RW, true, raw));
    }
}
