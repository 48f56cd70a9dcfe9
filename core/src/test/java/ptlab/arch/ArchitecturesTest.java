package ptlab.arch;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;
import ptlab.PtlabException;

/** The registry and the per-architecture address-space facts. */
final class ArchitecturesTest {

    @Test
    void registersEveryConfigurationAndKeepsTheDefault() {
        assertThat(Architectures.names()).containsExactly("x86_64-4l", "x86_64-5l", "arm64-4k-39", "arm64-4k-48",
                "arm64-4k-52", "arm64-16k-36", "arm64-16k-47", "arm64-16k-52", "arm64-64k-42", "arm64-64k-48",
                "arm64-64k-52", "riscv-sv39", "riscv-sv48", "riscv-sv57");
        assertThat(Architectures.defaultArch().name()).isEqualTo("x86_64-4l");
        for (Architecture a : Architectures.all()) {
            assertThat(Architectures.byName(a.name())).isSameAs(a);
        }
    }

    /** Each format family has a contract subclass; a new family must add one. */
    @Test
    void everyArchitectureBelongsToATestedFamily() {
        for (String n : Architectures.names()) {
            assertThat(n).matches("(x86_64|arm64|riscv)-.*");
        }
    }

    @Test
    void unknownNameListsTheKnownOnes() {
        assertThatThrownBy(() -> Architectures.byName("bogus"))
                .isInstanceOf(UnknownArchitectureException.class)
                .isInstanceOf(PtlabException.class)
                .hasMessageContaining("'bogus'")
                .hasMessageContaining("x86_64-4l")
                .hasMessageContaining("arm64-16k-47")
                .hasMessageContaining("riscv-sv57");
        assertThatThrownBy(() -> Architectures.byName("")).isInstanceOf(UnknownArchitectureException.class);
    }

    @Test
    void arm64HasASeparateKernelRoot() {
        Architecture a = Architectures.byName("arm64-4k-48");
        assertThat(a.sharesKernelHalf()).isFalse();
        assertThat(a.kernelHalfStart()).isEqualTo(-1);
        assertThat(a.syncMask()).isEmpty();
        assertThat(a.pgdOrder()).isZero();
        assertThat(a.userTop()).isEqualTo(1L << 48);
        assertThat(a.kernelBase()).isEqualTo(0xFFFF_0000_0000_0000L);
        assertThat(a.isCanonical(0x0000_FFFF_FFFF_F000L)).isTrue();
        assertThat(a.isCanonical(0xFFFF_0000_0000_0000L)).isTrue();
        assertThat(a.isCanonical(0x0001_0000_0000_0000L)).isFalse();
        Architecture b = Architectures.byName("arm64-16k-36");
        assertThat(b.userTop()).isEqualTo(1L << 36);
        assertThat(b.kernelBase()).isEqualTo(-(1L << 36));
    }

    @Test
    void riscvClonesTheUpperHalfOfThePgd() {
        for (String n : new String[] {"riscv-sv39", "riscv-sv48", "riscv-sv57"}) {
            Architecture a = Architectures.byName(n);
            int va = a.geometry().vaBits();
            assertThat(a.kernelHalfStart()).isEqualTo(256);
            assertThat(a.syncMask()).isEmpty();
            assertThat(a.pgdOrder()).isZero();
            assertThat(a.userTop()).isEqualTo(1L << (va - 1));
            assertThat(a.kernelBase()).isEqualTo(-(1L << (va - 1)));
            assertThat(a.geometry().index(Level.PGD, a.kernelBase())).isEqualTo(a.kernelHalfStart());
            assertThat(a.isCanonical(a.kernelBase())).isTrue();
            assertThat(a.isCanonical(a.userTop())).isFalse();
        }
    }

    @Test
    void x86IsUnchanged() {
        Architecture a = Architectures.byName("x86_64-4l");
        assertThat(a.kernelHalfStart()).isEqualTo(256);
        assertThat(a.pgdOrder()).isEqualTo(1);
        assertThat(a.syncMask()).containsExactly(Level.P4D);
        assertThat(Architectures.byName("x86_64-5l").syncMask()).containsExactly(Level.PGD);
    }
}
