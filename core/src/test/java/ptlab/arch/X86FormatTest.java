package ptlab.arch;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/** x86-64 4- and 5-level paging against the {@link PteFormatContract}. */
final class X86FormatTest extends PteFormatContract {
    private final X86Format f = new X86Format();

    @Override
    Stream<Architecture> architectures() {
        return family("x86_64-");
    }

    /** PROTNONE is bit 8, so G cannot survive PROT_NONE; everything else round-trips. */
    @Override
    PageProt expectedDecode(PageProt p) {
        return p.read() ? p : new PageProt(false, p.write(), p.exec(), p.user(), false, p.young(), p.dirty(), p.type());
    }

    @Test
    void noneToleratesTheKnlErratumBits() {
        assertThat(f.isNone(X86Format.A | X86Format.D)).isTrue();
        assertThat(f.isNone(X86Format.P)).isFalse();
    }

    @Test
    void pmdBadFlagsATableWithStrayBits() {
        long table = f.mkTable(Level.PMD, 0x1000, TableKind.USER);
        assertThat(f.isBad(Level.PMD, table)).isFalse();
        assertThat(f.isBad(Level.PMD, table | X86Format.NX)).isTrue();
        assertThat(f.isBad(Level.PMD, table & ~X86Format.RW)).isTrue();
    }
}
