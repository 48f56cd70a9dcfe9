package ptlab.arch;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** arm64 (all granules, 48- and 52-bit PA) against the {@link PteFormatContract}, plus DBM state. */
final class Arm64FormatTest extends PteFormatContract {
    private final PteFormat f = Architectures.byName("arm64-4k-48").format();

    @Override
    Stream<Architecture> architectures() {
        return family("arm64-");
    }

    /**
     * User pages are always nG. PROT_NONE keeps only AF, the dirty state and AttrIndx
     * ({@code pte_modify(pte, PAGE_NONE)} clears AP[1] and sets both XN bits), so it decodes as
     * a user page.
     */
    @Override
    PageProt expectedDecode(PageProt p) {
        if (!p.read()) {
            return new PageProt(false, false, false, true, false, p.young(), p.dirty(), p.type());
        }
        return p.user() ? new PageProt(true, p.write(), p.exec(), true, false, p.young(), p.dirty(), p.type()) : p;
    }

    /**
     * The table in arm64 {@code pgtable.h} ("PTE bits configuration in the presence of hardware
     * Dirty Bit Management"): dirty/writable to RDONLY/WRITE/DIRTY (x = either).
     */
    @ParameterizedTest(name = "dirty={0} writable={1}")
    @CsvSource({"false,false", "false,true", "true,false", "true,true"})
    void dbmStateTable(boolean dirty, boolean writable) {
        long e = f.mkLeaf(Level.PTE, 0x1000, PageProt.USER_READ.withWrite(writable).withDirty(dirty));
        boolean rdonly = (e & Arm64Format.RDONLY) != 0;
        boolean write = (e & Arm64Format.WRITE) != 0;
        boolean swDirty = (e & Arm64Format.DIRTY) != 0;
        assertThat(rdonly).isEqualTo(!(dirty && writable));
        assertThat(write).isEqualTo(writable);
        if (!writable) {
            assertThat(swDirty).isEqualTo(dirty);
        }
        assertThat(f.isDirty(e)).isEqualTo(dirty);
        assertThat(f.isWrite(e)).isEqualTo(writable);
    }

    @Test
    void wrprotectOfAHardwareDirtyPageKeepsItDirtyInSoftware() {
        long hwDirty = f.mkLeaf(Level.PTE, 0x1000, PageProt.USER_RW);
        assertThat(hwDirty & (Arm64Format.WRITE | Arm64Format.RDONLY | Arm64Format.DIRTY)).isEqualTo(Arm64Format.WRITE);
        long ro = f.wrprotect(hwDirty);
        assertThat(ro & (Arm64Format.WRITE | Arm64Format.RDONLY | Arm64Format.DIRTY))
                .isEqualTo(Arm64Format.RDONLY | Arm64Format.DIRTY);
        assertThat(f.isDirty(ro)).isTrue();
    }

    @Test
    void mkWriteMakesACleanPageHardwareWritable() {
        long clean = f.mkLeaf(Level.PTE, 0x1000, PageProt.USER_READ);
        long w = f.mkWrite(clean);
        // pte_mkwrite_novma clears PTE_RDONLY unconditionally, so the page becomes hardware-dirty.
        assertThat(w & Arm64Format.RDONLY).isZero();
        assertThat(f.isDirty(w)).isTrue();
        assertThat(f.isDirty(f.mkClean(w))).isFalse();
        assertThat(f.isWrite(f.mkClean(w))).isTrue();
    }

    @Test
    void mkHugeKeepsAProtNoneBlockPresentInvalid() {
        long none = f.mkLeaf(Level.PTE, 0x20_0000, PageProt.USER_NONE);
        assertThat(none & Arm64Format.TYPE_MASK).isEqualTo(2);
        long huge = f.mkHuge(none);
        assertThat(huge & Arm64Format.TYPE_MASK).isZero();
        assertThat(f.isPresent(huge)).isTrue();
        assertThat(f.isLeaf(Level.PMD, huge)).isTrue();
    }

    @Test
    void blocksAreBadWhereTheConfigurationHasNone() {
        PteFormat f64 = Architectures.byName("arm64-64k-48").format();
        long block = f64.mkHuge(f64.mkLeaf(Level.PTE, 1L << 42, PageProt.KERNEL_RW));
        assertThat(f64.isBad(Level.PGD, block)).isTrue();
        assertThat(f64.isBad(Level.PMD, block)).isFalse();
        assertThat(f.isBad(Level.PGD, f.mkHuge(f.mkLeaf(Level.PTE, 1L << 39, PageProt.KERNEL_RW)))).isTrue();
        assertThat(f.isBad(Level.PUD, f.mkLeaf(Level.PUD, 1L << 30, PageProt.KERNEL_RW))).isFalse();
    }

    @Test
    void lpa2HasNoShareabilityField() {
        PteFormat lpa2 = Architectures.byName("arm64-4k-52").format();
        assertThat(lpa2.mkLeaf(Level.PTE, 0x1000, PageProt.KERNEL_RW) & Arm64Format.SH_MASK).isZero();
        assertThat(f.mkLeaf(Level.PTE, 0x1000, PageProt.KERNEL_RW) & Arm64Format.SH_MASK).isEqualTo(Arm64Format.SH_INNER);
    }

    @Test
    void memoryTypesUseLinuxMairSlots() {
        long nc = f.mkLeaf(Level.PTE, 0, PageProt.KERNEL_RW.withType(MemType.NORMAL_NC));
        long dev = f.mkLeaf(Level.PTE, 0, PageProt.KERNEL_RW.withType(MemType.DEVICE));
        assertThat((nc & Arm64Format.ATTRINDX_MASK) >>> Arm64Format.ATTRINDX_SHIFT).isEqualTo(Arm64Format.MT_NORMAL_NC);
        assertThat((dev & Arm64Format.ATTRINDX_MASK) >>> Arm64Format.ATTRINDX_SHIFT).isEqualTo(Arm64Format.MT_DEVICE_NGNRE);
        long tagged = (dev & ~Arm64Format.ATTRINDX_MASK) | ((long) Arm64Format.MT_NORMAL_TAGGED << Arm64Format.ATTRINDX_SHIFT);
        long nGnRnE = (dev & ~Arm64Format.ATTRINDX_MASK) | ((long) Arm64Format.MT_DEVICE_NGNRNE << Arm64Format.ATTRINDX_SHIFT);
        assertThat(f.prot(Level.PTE, tagged).type()).isEqualTo(MemType.NORMAL);
        assertThat(f.prot(Level.PTE, nGnRnE).type()).isEqualTo(MemType.DEVICE);
    }
}
