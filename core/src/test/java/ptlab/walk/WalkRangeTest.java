package ptlab.walk;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.extension.RegisterExtension;
import ptlab.InvalidAddressException;
import ptlab.arch.Architecture;
import ptlab.arch.Architectures;
import ptlab.check.CheckedKernels;
import ptlab.kmap.Ptdump;
import ptlab.mm.Kernel;
import ptlab.mm.Process;
import ptlab.pgtable.KernelConfig;

/**
 * A walk range must lie in one half of the address space, as {@link Walker#walk} documents:
 * a researcher's {@code Ptdump.dump(mm, 0, 0, ...)} ("end 0: to the top") of a user process
 * ran the root's index past its last entry (ArrayIndexOutOfBoundsException: Index 512 out of
 * bounds for length 512), and an x86 range inside the non-canonical hole walked the kernel half.
 */
class WalkRangeTest {
    @RegisterExtension
    final CheckedKernels kernels = new CheckedKernels();

    @ParameterizedTest
    @ValueSource(strings = {"x86_64-4l", "arm64-4k-48", "riscv-sv39"})
    void aRangeThatLeavesItsHalfIsAnInvalidAddress(String name) {
        Architecture arch = Architectures.byName(name);
        Kernel k = kernels.kernel(KernelConfig.of(arch).withRam(1L << 30));
        Process p = k.newProcess("p");
        p.mmap(0x10000000L, 2L << 20, 3, false);
        p.touch(0x10000000L, 2L << 20, true);
        Ptdump dump = new Ptdump(k.pageTables());
        assertThatThrownBy(() -> dump.dump(p.mm(), 0, 0, List.of(), null)).isInstanceOf(InvalidAddressException.class)
                .hasMessageContaining("[0x0, 0x0)").hasMessageContaining("one half of the address space");
        long hole = 1L << (arch.geometry().vaBits() - (arch.sharesKernelHalf() ? 1 : 0)); // first non-canonical address
        WalkOps none = new WalkOps() {};
        assertThatThrownBy(() -> k.walker().walk(p.mm(), hole, hole + 4096, none, WalkOptions.UNLOCKED))
                .isInstanceOf(InvalidAddressException.class).hasMessageContaining("non-canonical");
        assertThat(dump.dump(p.mm(), 0, arch.userTop(), List.of(), null).lines()).hasSize(1);
        assertThat(dump.dump(k.pageTables().initMm(), arch.kernelBase(), 0, List.of(), null).lines()).isEmpty();
        p.exit();
    }
}
