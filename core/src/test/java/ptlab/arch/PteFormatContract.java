package ptlab.arch;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.stream.Stream;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import ptlab.InvalidAddressException;

/**
 * The contract every {@link PteFormat} keeps, checked as seeded properties over random
 * aligned addresses and random {@link PageProt}s at every level of every architecture of a
 * family. The identities are those of Linux {@code mm/debug_vm_pgtable.c}
 * ({@code pte_basic_tests}, {@code pmd_basic_tests}, {@code pmd_leaf_tests}, {@code pte_protnone_tests}).
 * One short subclass per family says which architectures it covers and what a leaf decodes
 * back to where the format cannot carry every {@link PageProt} field.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
abstract class PteFormatContract {

    /** The architectures of this family. */
    abstract Stream<Architecture> architectures();

    /** What {@code prot(mkLeaf(p))} gives back for {@code p} (fields the format cannot carry dropped). */
    abstract PageProt expectedDecode(PageProt p);

    static Stream<Architecture> family(String prefix) {
        return Architectures.all().stream().filter(a -> a.name().startsWith(prefix));
    }

    /* ---- decode(encode(x)) == x ---- */

    @ParameterizedTest(name = "{0}")
    @MethodSource("architectures")
    void leafRoundTrip(Architecture a) {
        PteFormat f = a.format();
        Geometry g = a.geometry();
        Samples.qt().forAll(Samples.leaves(a, false)).checkAssert(s -> {
            long e = f.mkLeaf(s.level(), s.pa(), s.prot());
            assertThat(f.decode(s.level(), e, g)).as("%s -> 0x%x", s, e)
                    .isEqualTo(new Entry.Leaf(s.pa(), g.entrySize(s.level()), expectedDecode(s.prot()), false, e));
            // pte_same(pfn_pte(pte_pfn(e), pte_pgprot(e)), e)
            assertThat(f.mkLeaf(s.level(), f.outputAddress(s.level(), e), f.prot(s.level(), e))).as("%s", s).isEqualTo(e);
            assertThat(f.isNone(e)).isFalse();
            assertThat(f.isPresent(e)).isTrue();
            assertThat(f.isValid(e)).isEqualTo(s.prot().read());
            assertThat(f.isLeaf(s.level(), e)).isTrue();
            assertThat(f.isTable(s.level(), e)).isFalse();
            assertThat(f.isBad(s.level(), e)).isFalse();
            assertThat(f.isCont(e)).isFalse();
        });
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("architectures")
    void tableRoundTrip(Architecture a) {
        PteFormat f = a.format();
        Geometry g = a.geometry();
        Samples.qt().forAll(Samples.tables(a)).checkAssert(s -> {
            long e = f.mkTable(s.level(), s.pa(), s.kind());
            TableKind kind = f.encodesTableKind() ? s.kind() : f.tableKind(s.level(), e);
            assertThat(f.decode(s.level(), e, g)).as("%s -> 0x%x", s, e).isEqualTo(new Entry.Table(s.pa(), kind, e));
            assertThat(f.isTable(s.level(), e)).isTrue();
            assertThat(f.isLeaf(s.level(), e)).isFalse();
            assertThat(f.isBad(s.level(), e)).isFalse();
            assertThat(f.isPresent(e)).isTrue();
            assertThat(f.isValid(e)).isTrue();
            assertThat(f.isNone(e)).isFalse();
        });
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("architectures")
    void tableKindsDifferOnlyWhereEncoded(Architecture a) {
        PteFormat f = a.format();
        for (Level l : Samples.tableLevels(a.geometry())) {
            long user = f.mkTable(l, 0x40_0000L, TableKind.USER);
            long kernel = f.mkTable(l, 0x40_0000L, TableKind.KERNEL);
            assertThat(user != kernel).as("%s %s", a, l).isEqualTo(f.encodesTableKind());
        }
    }

    /* ---- mm/debug_vm_pgtable.c identities ---- */

    @ParameterizedTest(name = "{0}")
    @MethodSource("architectures")
    void youngDirtyWriteIdentities(Architecture a) {
        PteFormat f = a.format();
        Samples.qt().forAll(Samples.leaves(a, false)).checkAssert(s -> {
            long e = f.mkLeaf(s.level(), s.pa(), s.prot());
            assertThat(f.isYoung(f.mkYoung(f.mkOld(e)))).as("young(mkyoung(mkold)) %s", s).isTrue();
            assertThat(f.isYoung(f.mkOld(f.mkYoung(e)))).as("young(mkold(mkyoung)) %s", s).isFalse();
            assertThat(f.isDirty(f.mkDirty(f.mkClean(e)))).as("dirty(mkdirty(mkclean)) %s", s).isTrue();
            assertThat(f.isDirty(f.mkClean(f.mkDirty(e)))).as("dirty(mkclean(mkdirty)) %s", s).isFalse();
            assertThat(f.isWrite(f.mkWrite(f.wrprotect(e)))).as("write(mkwrite(wrprotect)) %s", s).isTrue();
            assertThat(f.isWrite(f.wrprotect(f.mkWrite(e)))).as("write(wrprotect(mkwrite)) %s", s).isFalse();
            assertThat(f.isDirty(f.wrprotect(f.mkClean(e)))).as("dirty(wrprotect(mkclean)) %s", s).isFalse();
            assertThat(f.isDirty(f.wrprotect(f.mkDirty(e)))).as("dirty(wrprotect(mkdirty)) %s", s).isTrue();
            assertThat(f.isYoung(e)).isEqualTo(s.prot().young());
            assertThat(f.isDirty(e)).isEqualTo(s.prot().dirty());
        });
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("architectures")
    void helpersKeepAddressAndLeafness(Architecture a) {
        PteFormat f = a.format();
        Samples.qt().forAll(Samples.leaves(a, false)).checkAssert(s -> {
            long e = f.mkLeaf(s.level(), s.pa(), s.prot());
            long[] changed = {f.mkYoung(e), f.mkOld(e), f.mkDirty(e), f.mkClean(e), f.mkWrite(e), f.wrprotect(e)};
            for (long c : changed) {
                assertThat(f.outputAddress(s.level(), c)).as("%s -> 0x%x", s, c).isEqualTo(s.pa());
                assertThat(f.isLeaf(s.level(), c)).as("%s -> 0x%x", s, c).isTrue();
                assertThat(f.isValid(c)).as("%s -> 0x%x", s, c).isEqualTo(f.isValid(e));
            }
        });
    }

    /** {@code pmd_leaf(pmd_mkhuge(pfn_pmd(pfn, prot)))}: mkHuge of a page encoding is the block encoding. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("architectures")
    void mkHugeMakesTheBlockEncoding(Architecture a) {
        PteFormat f = a.format();
        // Most generated leaves may be PTE-level on some geometries: allow enough attempts that no
        // seed gives up on the assumption (QuickTheories' default is 10 per example).
        Samples.qt().withGenerateAttempts(100).forAll(Samples.leaves(a, false)).assuming(s -> s.level() != Level.PTE).checkAssert(s -> {
            long huge = f.mkHuge(f.mkLeaf(Level.PTE, s.pa(), s.prot()));
            assertThat(huge).as("%s", s).isEqualTo(f.mkLeaf(s.level(), s.pa(), s.prot()));
            assertThat(f.isLeaf(s.level(), huge)).isTrue();
            assertThat(f.isTable(s.level(), huge)).isFalse();
        });
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("architectures")
    void protNoneIsPresentButNotValid(Architecture a) {
        PteFormat f = a.format();
        Samples.qt().forAll(Samples.leaves(a, false)).checkAssert(s -> {
            long e = f.mkLeaf(s.level(), s.pa(), s.prot());
            long none = f.mkProtNone(s.level(), e);
            assertThat(f.isPresent(none)).as("%s -> 0x%x", s, none).isTrue();
            assertThat(f.isValid(none)).as("%s -> 0x%x", s, none).isFalse();
            assertThat(f.isNone(none)).isFalse();
            assertThat(f.isLeaf(s.level(), none)).isTrue();
            assertThat(f.isTable(s.level(), none)).isFalse();
            assertThat(f.isBad(s.level(), none)).isFalse();
            assertThat(f.outputAddress(s.level(), none)).isEqualTo(s.pa());
            assertThat(f.prot(s.level(), none).read()).isFalse();
            assertThat(f.prot(s.level(), none).type()).isEqualTo(s.prot().type());
        });
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("architectures")
    void contiguousRoundTrip(Architecture a) {
        PteFormat f = a.format();
        Geometry g = a.geometry();
        boolean any = a.geometry().levels().stream().anyMatch(l -> g.contiguousEntries(l) > 0);
        if (!any) {
            assertThatThrownBy(() -> f.mkCont(f.mkLeaf(Level.PTE, 0, PageProt.USER_RW)))
                    .isInstanceOf(UnsupportedOperationException.class);
            return;
        }
        Samples.qt().forAll(Samples.leaves(a, true)).checkAssert(s -> {
            long e = f.mkLeaf(s.level(), s.pa(), s.prot());
            long c = f.mkCont(e);
            assertThat(f.isCont(c)).as("%s -> 0x%x", s, c).isTrue();
            assertThat(f.mkNonCont(c)).as("%s -> 0x%x", s, c).isEqualTo(e);
            assertThat(f.outputAddress(s.level(), c)).isEqualTo(s.pa());
            assertThat(f.isLeaf(s.level(), c)).isTrue();
            assertThat(f.isBad(s.level(), c)).isFalse();
            assertThat(f.prot(s.level(), c)).isEqualTo(f.prot(s.level(), e));
            assertThat(f.decode(s.level(), c, g)).isEqualTo(
                    new Entry.Leaf(s.pa(), g.entrySize(s.level()), expectedDecode(s.prot()), true, c));
            assertThat(f.mkNonCont(e)).isEqualTo(e);
        });
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("architectures")
    void noneIsNone(Architecture a) {
        PteFormat f = a.format();
        assertThat(f.isNone(0)).isTrue();
        assertThat(f.isPresent(0)).isFalse();
        assertThat(f.isValid(0)).isFalse();
        for (Level l : a.geometry().levels()) {
            assertThat(f.isTable(l, 0)).isFalse();
            assertThat(f.isLeaf(l, 0)).isFalse();
            assertThat(f.isBad(l, 0)).isFalse();
            assertThat(f.decode(l, 0, a.geometry())).isEqualTo(new Entry.Absent(0));
        }
    }

    /* ---- Bad input ---- */

    @ParameterizedTest(name = "{0}")
    @MethodSource("architectures")
    void misalignedOrTooLargeAddressesAreRejected(Architecture a) {
        PteFormat f = a.format();
        Geometry g = a.geometry();
        long tooLarge = 1L << f.physAddrBits();
        for (Level l : Samples.leafLevels(g)) {
            long half = g.entrySize(l) / 2;
            assertThatThrownBy(() -> f.mkLeaf(l, g.entrySize(l) + half, PageProt.USER_RW))
                    .as("%s %s", a, l).isInstanceOf(InvalidAddressException.class).hasMessageContaining("0x");
            assertThatThrownBy(() -> f.mkLeaf(l, tooLarge, PageProt.USER_RW)).isInstanceOf(InvalidAddressException.class);
            assertThatThrownBy(() -> f.mkLeaf(l, -g.entrySize(l), PageProt.USER_RW)).isInstanceOf(InvalidAddressException.class);
        }
        for (Level l : Samples.tableLevels(g)) {
            assertThatThrownBy(() -> f.mkTable(l, g.pageSize() + 8, TableKind.USER)).isInstanceOf(InvalidAddressException.class);
            assertThatThrownBy(() -> f.mkTable(l, tooLarge, TableKind.KERNEL)).isInstanceOf(InvalidAddressException.class);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("architectures")
    void largestAddressFits(Architecture a) {
        PteFormat f = a.format();
        Geometry g = a.geometry();
        for (Level l : Samples.leafLevels(g)) {
            long top = ((1L << f.physAddrBits()) - 1) & -g.entrySize(l);
            assertThat(f.outputAddress(l, f.mkLeaf(l, top, PageProt.KERNEL_RW))).as("%s %s", a, l).isEqualTo(top);
        }
    }
}
