package ptlab.arch;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Geometry of every configuration against the kernel-semantics digest, section 10, and the
 * Linux headers: levels present (Linux folds P4D, then PUD, then PMD), shifts, entries per
 * table, leaf levels and contiguous-run lengths.
 */
final class GeometryTest {

    /**
     * name, page shift, VA bits, "LEVEL:shift:entries" per present level (root first),
     * leaf levels, contiguous runs ("LEVEL:n").
     */
    static Stream<Arguments> shapes() {
        return Stream.of(
                Arguments.of("x86_64-4l", 12, 48, "PGD:39:512 PUD:30:512 PMD:21:512 PTE:12:512", "PUD PMD PTE", ""),
                Arguments.of("x86_64-5l", 12, 57, "PGD:48:512 P4D:39:512 PUD:30:512 PMD:21:512 PTE:12:512", "PUD PMD PTE", ""),
                Arguments.of("arm64-4k-39", 12, 39, "PGD:30:512 PMD:21:512 PTE:12:512", "PGD PMD PTE", "PMD:16 PTE:16"),
                Arguments.of("arm64-4k-48", 12, 48, "PGD:39:512 PUD:30:512 PMD:21:512 PTE:12:512", "PUD PMD PTE", "PMD:16 PTE:16"),
                Arguments.of("arm64-4k-52", 12, 52, "PGD:48:16 P4D:39:512 PUD:30:512 PMD:21:512 PTE:12:512", "PUD PMD PTE",
                        "PMD:16 PTE:16"),
                Arguments.of("arm64-16k-36", 14, 36, "PGD:25:2048 PTE:14:2048", "PGD PTE", "PGD:32 PTE:128"),
                Arguments.of("arm64-16k-47", 14, 47, "PGD:36:2048 PMD:25:2048 PTE:14:2048", "PMD PTE", "PMD:32 PTE:128"),
                Arguments.of("arm64-16k-52", 14, 52, "PGD:47:32 PUD:36:2048 PMD:25:2048 PTE:14:2048", "PUD PMD PTE",
                        "PMD:32 PTE:128"),
                Arguments.of("arm64-64k-42", 16, 42, "PGD:29:8192 PTE:16:8192", "PGD PTE", "PGD:32 PTE:32"),
                Arguments.of("arm64-64k-48", 16, 48, "PGD:42:64 PMD:29:8192 PTE:16:8192", "PMD PTE", "PMD:32 PTE:32"),
                Arguments.of("arm64-64k-52", 16, 52, "PGD:42:1024 PMD:29:8192 PTE:16:8192", "PGD PMD PTE", "PMD:32 PTE:32"),
                Arguments.of("riscv-sv39", 12, 39, "PGD:30:512 PMD:21:512 PTE:12:512", "PGD PMD PTE", "PTE:16"),
                Arguments.of("riscv-sv48", 12, 48, "PGD:39:512 PUD:30:512 PMD:21:512 PTE:12:512", "PGD PUD PMD PTE", "PTE:16"),
                Arguments.of("riscv-sv57", 12, 57, "PGD:48:512 P4D:39:512 PUD:30:512 PMD:21:512 PTE:12:512",
                        "PGD P4D PUD PMD PTE", "PTE:16"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("shapes")
    void shape(String name, int pageShift, int va, String levels, String leaves, String cont) {
        Geometry g = Architectures.byName(name).geometry();
        assertThat(g.pageShift()).isEqualTo(pageShift);
        assertThat(g.vaBits()).isEqualTo(va);
        List<String> actual = new ArrayList<>();
        for (Level l : g.levels()) {
            actual.add(l + ":" + g.shift(l) + ":" + g.entries(l));
        }
        assertThat(String.join(" ", actual)).isEqualTo(levels);
        List<String> leafLevels = new ArrayList<>();
        List<String> runs = new ArrayList<>();
        for (Level l : Level.values()) {
            if (g.leafAllowed(l)) {
                leafLevels.add(l.name());
            }
            if (g.contiguousEntries(l) > 0) {
                runs.add(l + ":" + g.contiguousEntries(l));
            }
        }
        assertThat(String.join(" ", leafLevels)).isEqualTo(leaves);
        assertThat(String.join(" ", runs)).isEqualTo(cont);
        // The root covers exactly the VA bits; every table but the root fills one granule.
        assertThat(g.entrySize(g.root()) * g.entries(g.root())).isEqualTo(1L << va);
        for (Level l : g.levels()) {
            if (l != g.root()) {
                assertThat(g.tableBytes(l)).isEqualTo(g.pageSize());
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("ptlab.arch.GeometryTest#names")
    void foldedLevelsLiveInTheirHolder(String name) {
        Geometry g = Architectures.byName(name).geometry();
        for (Level l : Level.values()) {
            Level h = g.holder(l);
            if (g.levels().contains(l)) {
                assertThat(h).isEqualTo(l);
                assertThat(g.isFolded(l)).isFalse();
            } else {
                assertThat(g.isFolded(l)).isTrue();
                assertThat(g.entries(l)).isEqualTo(1);
                assertThat(g.shift(l)).isEqualTo(g.shift(h));
                assertThat(h.depth()).isLessThan(l.depth());
                assertThat(g.leafAllowed(l)).isFalse();
            }
        }
    }

    static Stream<String> names() {
        return Architectures.names().stream();
    }

    @Test
    void holders() {
        // 3 levels fold P4D and PUD into the PGD (pgtable-nopud.h).
        assertThat(Architectures.byName("arm64-4k-39").geometry().holder(Level.PUD)).isEqualTo(Level.PGD);
        assertThat(Architectures.byName("arm64-64k-48").geometry().holder(Level.PUD)).isEqualTo(Level.PGD);
        // 2 levels fold PMD too.
        assertThat(Architectures.byName("arm64-16k-36").geometry().holder(Level.PMD)).isEqualTo(Level.PGD);
        assertThat(Architectures.byName("arm64-64k-42").geometry().holder(Level.PUD)).isEqualTo(Level.PGD);
        // 4 levels fold only P4D.
        assertThat(Architectures.byName("x86_64-4l").geometry().holder(Level.P4D)).isEqualTo(Level.PGD);
        assertThat(Architectures.byName("riscv-sv48").geometry().holder(Level.P4D)).isEqualTo(Level.PGD);
        assertThat(Architectures.byName("arm64-16k-52").geometry().holder(Level.PUD)).isEqualTo(Level.PUD);
        assertThat(Architectures.byName("riscv-sv57").geometry().isFolded(Level.P4D)).isFalse();
        assertThat(Architectures.byName("riscv-sv57").geometry().levels()).hasSize(5);
    }

    @Test
    void indexSplitsTheVirtualAddress() {
        Geometry g = Architectures.byName("arm64-4k-48").geometry();
        long va = 0x0000_1234_5678_9000L;
        // 0x1234_5678_9000 >> 39 = 0x24; >> 30 = 0x48D1 & 0x1FF = 0xD1; >> 21 = 0x91A2B3 & 0x1FF = 0xB3;
        // >> 12 = 0x1_2345_6789 & 0x1FF = 0x189
        assertThat(g.index(Level.PGD, va)).isEqualTo(0x24);
        assertThat(g.index(Level.PUD, va)).isEqualTo(0xD1);
        assertThat(g.index(Level.PMD, va)).isEqualTo(0xB3);
        assertThat(g.index(Level.PTE, va)).isEqualTo(0x189);
        assertThat(g.index(Level.P4D, va)).isZero();
        // TTBR1: 0xFFFF_8000_0000_0000 >> 39 = 0x1FF_FF00, & 0x1FF = 0x100
        assertThat(g.index(Level.PGD, 0xFFFF_8000_0000_0000L)).isEqualTo(0x100);

        Geometry g16 = Architectures.byName("arm64-16k-47").geometry();
        long top = 0x0000_7FFF_FFFF_C000L;
        assertThat(g16.index(Level.PGD, top)).isEqualTo(2047);
        assertThat(g16.index(Level.PMD, top)).isEqualTo(2047);
        assertThat(g16.index(Level.PTE, top)).isEqualTo(2047);
        assertThat(g16.index(Level.PTE, 0x4000)).isEqualTo(1);

        assertThat(Architectures.byName("arm64-4k-52").geometry().index(Level.PGD, 0x000F_0000_0000_0000L)).isEqualTo(15);
        assertThat(Architectures.byName("arm64-64k-48").geometry().index(Level.PGD, 0x0000_FC00_0000_0000L)).isEqualTo(63);
        assertThat(Architectures.byName("riscv-sv39").geometry().index(Level.PGD, 0x0000_003F_FFFF_F000L)).isEqualTo(255);
    }

    @Test
    void addrEndClampsLikePxdAddrEnd() {
        Geometry g = Architectures.byName("arm64-4k-48").geometry();
        assertThat(g.addrEnd(Level.PMD, 0x20_1000, 0x80_0000)).isEqualTo(0x40_0000);
        assertThat(g.addrEnd(Level.PMD, 0x20_1000, 0x30_0000)).isEqualTo(0x30_0000);
        assertThat(g.addrEnd(Level.PTE, 0x1000, 0x1800)).isEqualTo(0x1800);
        // end == 0 means "to the top of the address space": the boundary wraps to 0 and 0 is returned.
        assertThat(g.addrEnd(Level.PGD, 0xFFFF_FF80_0000_0000L, 0)).isZero();
        assertThat(g.addrEnd(Level.PGD, 0xFFFF_FF00_0000_0000L, 0)).isEqualTo(0xFFFF_FF80_0000_0000L);
        // A folded PUD steps like its holder, the PGD, which maps 1G in arm64-4k-39.
        Geometry g39 = Architectures.byName("arm64-4k-39").geometry();
        assertThat(g39.addrEnd(Level.PUD, 0x1000, 1L << 39)).isEqualTo(1L << 30);
        assertThat(g39.addrEnd(Level.P4D, 0x1000, 1L << 39)).isEqualTo(1L << 30);
        Geometry g64 = Architectures.byName("arm64-64k-42").geometry();
        assertThat(g64.addrEnd(Level.PMD, 0x1_0000, 1L << 42)).isEqualTo(1L << 29);
    }

    @Test
    void levelOfSize() {
        Geometry g = Architectures.byName("arm64-16k-52").geometry();
        assertThat(g.levelOfSize(1L << 36)).isEqualTo(Level.PUD);
        assertThat(g.levelOfSize(1L << 25)).isEqualTo(Level.PMD);
        assertThat(g.levelOfSize(1L << 21)).isNull();
    }
}
