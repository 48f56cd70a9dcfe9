package ptlab.mm;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import ptlab.arch.Architectures;
import ptlab.arch.Level;
import ptlab.check.CheckedKernels;
import ptlab.pgtable.KernelConfig;
import ptlab.pgtable.PageTables;
import ptlab.pgtable.ThpMode;
import ptlab.phys.PageDesc;

/**
 * mprotect changes the protection and keeps the accessed and dirty state ({@code pte_modify} /
 * {@code pmd_modify} keep {@code _PAGE_CHG_MASK}): a written page made read-only or PROT_NONE is
 * still dirty, for a 4K PTE and for a THP's PMD. Before, the huge path rebuilt the PMD with
 * dirty = writable and the PROT_NONE paths with neither bit.
 */
class ProtectKeepsAccessedDirtyTest {
    @RegisterExtension
    final CheckedKernels checked = new CheckedKernels();

    private static final long ADDR = 0x7f00_0000_0000L; // 1 GiB-aligned, so also PMD-aligned
    private static final long TWO_MB = 2L << 20;

    @ParameterizedTest
    @ValueSource(strings = {"x86_64-4l", "arm64-4k-48", "riscv-sv48"})
    void aWrittenPageStaysDirtyThroughReadOnlyAndNone(String arch) {
        Kernel k = checked.kernel(KernelConfig.of(Architectures.byName(arch)).withThp(ThpMode.NEVER));
        Process p = k.newProcess("t");
        assertThat(p.mmap(ADDR, 4096, 3, false).ok()).isTrue();
        assertThat(p.touch(ADDR, 4096, true).ok()).isTrue();
        for (int prot : new int[] {1, 0, 3}) {
            assertThat(p.mprotect(ADDR, 4096, prot).ok()).isTrue();
            long e = pte(k, p);
            assertThat(k.fmt.isPresent(e)).isTrue();
            assertThat(k.fmt.isDirty(e)).as("dirty after mprotect %d", prot).isTrue();
            assertThat(k.fmt.isYoung(e)).as("young after mprotect %d", prot).isTrue();
        }
        p.exit();
    }

    @ParameterizedTest
    @ValueSource(strings = {"x86_64-4l", "arm64-4k-48", "riscv-sv48"})
    void aWrittenThpStaysDirtyThroughReadOnlyAndNone(String arch) {
        Kernel k = checked.kernel(KernelConfig.of(Architectures.byName(arch)).withThp(ThpMode.ALWAYS));
        Process p = k.newProcess("t");
        assertThat(p.mmap(ADDR, TWO_MB, 3, false).ok()).isTrue();
        assertThat(p.touch(ADDR, TWO_MB, true).ok()).isTrue();
        assertThat(k.fmt.isLeaf(k.pmdLevel, pmd(k, p))).as("a THP").isTrue();
        for (int prot : new int[] {1, 0, 3}) {
            assertThat(p.mprotect(ADDR, TWO_MB, prot).ok()).isTrue();
            long e = pmd(k, p);
            assertThat(k.fmt.isLeaf(k.pmdLevel, e)).as("still one huge PMD after mprotect %d", prot).isTrue();
            assertThat(k.fmt.isDirty(e)).as("dirty after mprotect %d", prot).isTrue();
            assertThat(k.fmt.isYoung(e)).as("young after mprotect %d", prot).isTrue();
        }
        p.exit();
    }

    private static long pte(Kernel k, Process p) {
        PageDesc t = k.installer.lookup(p.mm, ADDR, Level.PTE);
        return PageTables.read(t, k.geo.index(Level.PTE, ADDR));
    }

    private static long pmd(Kernel k, Process p) {
        PageDesc t = k.installer.lookup(p.mm, ADDR, k.pmdLevel);
        return PageTables.read(t, k.geo.index(k.pmdLevel, ADDR));
    }
}
