package ptlab.arch;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/** RISC-V Sv39/Sv48/Sv57 against the {@link PteFormatContract}, plus Svnapot and reserved encodings. */
final class RiscvFormatTest extends PteFormatContract {
    private final PteFormat f = Architectures.byName("riscv-sv48").format();

    @Override
    Stream<Architecture> architectures() {
        return family("riscv-");
    }

    /** PROT_NONE is G|R without V: U and G cannot survive it, so it decodes as a user page. */
    @Override
    PageProt expectedDecode(PageProt p) {
        return p.read() ? p : new PageProt(false, false, false, true, false, p.young(), p.dirty(), p.type());
    }

    @Test
    void everyNapotPteOfARunIsIdenticalAndDecodesToTheRunBase() {
        long base = 0x8021_0000L;
        long first = f.mkCont(f.mkLeaf(Level.PTE, base, PageProt.USER_RW));
        for (int i = 0; i < 16; i++) {
            long e = f.mkCont(f.mkLeaf(Level.PTE, base + i * 4096L, PageProt.USER_RW));
            assertThat(e).isEqualTo(first);
        }
        assertThat(f.outputAddress(Level.PTE, first)).isEqualTo(base);
        assertThat((first & RiscvFormat.NAPOT_PPN_FIELD) >>> RiscvFormat.PPN_SHIFT).isEqualTo(0b1000);
    }

    @Test
    void reservedEncodingsAreBad() {
        long leaf = f.mkLeaf(Level.PMD, 0x20_0000, PageProt.KERNEL_RW);
        assertThat(f.isBad(Level.PMD, leaf)).isFalse();
        assertThat(f.isBad(Level.PMD, leaf & ~RiscvFormat.R)).as("W without R").isTrue();
        assertThat(f.isBad(Level.PMD, leaf + (1L << RiscvFormat.PPN_SHIFT))).as("misaligned superpage").isTrue();
        assertThat(f.isBad(Level.PMD, leaf | RiscvFormat.N)).as("NAPOT above PTE").isTrue();
        long table = f.mkTable(Level.PMD, 0x1000, TableKind.KERNEL);
        assertThat(f.isBad(Level.PMD, table)).isFalse();
        assertThat(f.isBad(Level.PMD, table | RiscvFormat.A)).as("A on a table").isTrue();
        assertThat(f.isBad(Level.PMD, table | RiscvFormat.PBMT_IO)).as("PBMT on a table").isTrue();
    }

    @Test
    void execOnlyIsALeafAndTheTableIsVAlone() {
        long table = f.mkTable(Level.PUD, 0x5000, TableKind.USER);
        assertThat(table).isEqualTo((0x5000L >>> 12 << 10) | RiscvFormat.V);
        long xOnly = (0x20_0000L >>> 12 << 10) | RiscvFormat.V | RiscvFormat.X;
        assertThat(f.isLeaf(Level.PMD, xOnly)).isTrue();
        assertThat(f.isTable(Level.PMD, xOnly)).isFalse();
    }
}
