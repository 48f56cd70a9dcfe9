package ptlab.arch;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.SplittableRandom;
import java.util.function.LongToIntFunction;
import org.junit.jupiter.api.Test;

/**
 * The formats decode a protection through a table keyed by the bits it depends on; the
 * arithmetic {@code protIndex} is the definition. Any word, leaf or not, must decode the same
 * both ways: a bit left out of a key, or put in the wrong slot, fails here on the words that
 * differ only in that bit.
 */
final class ProtDecodeTableTest {
    private static final int RANDOM_WORDS = 20_000;

    @Test
    void x86TableMatchesTheArithmetic() {
        check(new X86Format(), X86Format::protIndex);
    }

    @Test
    void arm64TableMatchesTheArithmetic() {
        check(Architectures.byName("arm64-4k-52").format(), Arm64Format::protIndex);
        check(Architectures.byName("arm64-64k-52").format(), Arm64Format::protIndex);
    }

    @Test
    void riscvTableMatchesTheArithmetic() {
        check(Architectures.byName("riscv-sv57").format(), RiscvFormat::protIndex);
    }

    @Test
    void everyValueKnowsItsTableIndex() {
        for (int i = 0; i < ProtTable.SIZE; i++) {
            PageProt p = Samples.prot(i);
            assertThat(p.index()).isEqualTo(i);
            assertThat(ProtTable.byIndex(i)).isEqualTo(p).hasSameHashCodeAs(p);
        }
        assertThat(PageProt.USER_RW).isNotEqualTo(PageProt.USER_RW.withType(MemType.DEVICE));
        assertThat(PageProt.USER_RW.toString()).isEqualTo(
                "PageProt[read=true, write=true, exec=false, user=true, global=false, young=true, dirty=true, type=NORMAL]");
    }

    private static void check(PteFormat f, LongToIntFunction protIndex) {
        SplittableRandom rnd = new SplittableRandom(Samples.SEED);
        for (int b = 0; b < 64; b++) {
            expectSame(f, protIndex, 1L << b);
            expectSame(f, protIndex, ~(1L << b));
        }
        for (int i = 0; i < RANDOM_WORDS; i++) {
            long e = rnd.nextLong();
            expectSame(f, protIndex, e);
            expectSame(f, protIndex, e ^ 1L << rnd.nextInt(64));
        }
    }

    private static void expectSame(PteFormat f, LongToIntFunction protIndex, long e) {
        assertThat(f.prot(Level.PTE, e)).as("%s 0x%016x", f.name(), e).isSameAs(ProtTable.byIndex(protIndex.applyAsInt(e)));
    }
}
