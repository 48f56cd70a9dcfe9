package ptlab.mmu;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import ptlab.arch.Architectures;
import ptlab.arch.Level;
import ptlab.check.CheckedKernels;
import ptlab.cpu.Violation;
import ptlab.phys.PageDesc;

/**
 * Negative control for the hardware walk's use-after-free report: a table entry left pointing
 * at a table that was freed (the bug TLB shootdown before table free exists to prevent) makes
 * the next walk read the freed frame's poison, and that read is reported naming the frame.
 */
class HardwareWalkerPoisonTest {
    @RegisterExtension
    final CheckedKernels checked = new CheckedKernels();

    @ParameterizedTest
    @ValueSource(strings = {"x86_64-4l", "arm64-4k-48", "riscv-sv48"})
    void walkThroughAFreedTableIsReported(String name) {
        MmuFixture f = new MmuFixture(checked, Architectures.byName(name));
        long va = f.va(Level.PTE);
        f.table(va, Level.PTE); // the path down to the PTE table
        f.neutralPath(va, Level.PTE);
        PageDesc freed = f.k.pageTables().allocTable(f.mm, f.mm, Level.PTE, "test");
        long freedPa = f.k.pageTables().pa(freed);
        f.k.pageTables().freeTable(freed);
        assertThat(freed.poisoned()).isTrue();

        f.set(va, Level.PMD, f.neutralTable(freedPa)); // the PMD still points at the freed table
        // What the poison word then means is the format's business (a user page on arm64, whose
        // AF the walk even sets): the hardware uses garbage. The report is what is checked.
        f.cpu.translatePa(va, AccessKind.READ, Privilege.USER);

        int idx = f.geo.index(Level.PTE, va);
        assertThat(f.k.log().snapshot()).containsExactly(new Violation("use-after-free",
                "mmu walk read word " + idx + " of freed table pfn 0x" + Long.toHexString(freed.pfn())));
        f.k.log().clear();
        f.restore();
    }
}
