package ptlab.mm;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import ptlab.arch.Architectures;
import ptlab.check.CheckedKernels;
import ptlab.kmap.Translation;
import ptlab.kmap.Translations;
import ptlab.pgtable.KernelConfig;

/**
 * Copy-on-write at fork, directly ({@code copy_present_pte}, {@code do_wp_page}): fork leaves
 * a private anonymous page mapped read-only in both mms with one more reference; the first
 * write of either side copies it while the other mapping remains; a write to a page no other
 * mapping holds any more reuses it in place. The differential suite sees this only through
 * VmPTE and the stale-TLB tests through flushes; a fork that left the parent's PTE writable
 * was caught only by chance (the mutation audit's M33).
 */
class ForkCowTest {
    @RegisterExtension
    final CheckedKernels kernels = new CheckedKernels();

    private static final long B = 0x10_0000_0000L;

    @ParameterizedTest
    @ValueSource(strings = {"x86_64-4l", "arm64-4k-48", "riscv-sv48"})
    void forkWriteProtectsBothSidesAndTheFirstWriteCopies(String arch) {
        Kernel k = kernels.kernel(KernelConfig.of(Architectures.byName(arch)).withRam(1L << 30));
        long page = k.pageTables().geometry().pageSize();
        Process p = k.newProcess("p");
        assertThat(p.mmap(B, 2 * page, 3, false)).isEqualTo(Errno.OK);
        assertThat(p.touch(B, 2 * page, true)).isEqualTo(Errno.OK);
        long pa0 = mapped(k, p, B).pa();
        long pa1 = mapped(k, p, B + page).pa();
        assertThat(mapped(k, p, B).prot().write()).as("writable before the fork").isTrue();

        Process c = p.fork("c");
        assertThat(c).hasToString("c");
        for (Process x : new Process[] {p, c}) {
            assertThat(mapped(k, x, B).pa()).as("%s shares the page", x).isEqualTo(pa0);
            assertThat(mapped(k, x, B).prot().write()).as("%s's PTE is write-protected (COW)", x).isFalse();
        }
        assertThat(refcount(k, pa0)).as("one reference per mapping").isEqualTo(2);

        assertThat(p.touch(B, page, true)).isEqualTo(Errno.OK); // the parent writes page 0: a copy
        assertThat(mapped(k, p, B).pa()).isNotEqualTo(pa0);
        assertThat(mapped(k, p, B).prot().write()).isTrue();
        assertThat(mapped(k, c, B).pa()).as("the child keeps the original").isEqualTo(pa0);
        assertThat(mapped(k, c, B).prot().write()).isFalse();
        assertThat(refcount(k, pa0)).isEqualTo(1);

        assertThat(c.touch(B + page, page, true)).isEqualTo(Errno.OK); // the child writes page 1: a copy
        assertThat(mapped(k, c, B + page).pa()).isNotEqualTo(pa1);
        assertThat(p.touch(B + page, page, true)).isEqualTo(Errno.OK); // the parent is its last user: reused in place
        assertThat(mapped(k, p, B + page).pa()).isEqualTo(pa1);
        assertThat(mapped(k, p, B + page).prot().write()).isTrue();
        assertThat(c.touch(B, page, true)).isEqualTo(Errno.OK); // likewise the child's page 0
        assertThat(mapped(k, c, B).pa()).isEqualTo(pa0);
        c.exit();
        p.exit();
    }

    /**
     * A THP shared by a fork, then split in one process (here the child's partial mprotect):
     * a write to one of its pages copies that page while the parent still maps the folio
     * ({@code __wp_can_reuse_large_anon_folio}: mapped in another mm); once the parent has
     * unmapped it, the child's next write reuses its page in place (every reference is a
     * mapping of the child's, and more than one). Before 2026-11-22 the first write reused the
     * shared page: parent and child then read each other's stores (PageContentsTest).
     */
    @org.junit.jupiter.api.Test
    void aWriteToASharedSplitThpCopiesThePageAndReusesItOnceExclusive() {
        Kernel k = kernels.kernel(KernelConfig.defaults().withRam(1L << 30));
        long page = k.pageTables().geometry().pageSize();
        long huge = 2L << 20;
        Process p = k.newProcess("p");
        assertThat(p.mmap(B, huge, 3, false)).isEqualTo(Errno.OK);
        assertThat(p.madvise(B, huge, Advice.HUGEPAGE)).isEqualTo(Errno.OK);
        assertThat(p.touch(B, huge, true)).isEqualTo(Errno.OK);
        Translation.Mapped thp = mapped(k, p, B);
        assertThat(thp.level()).as("a THP").isEqualTo(ptlab.arch.Level.PMD);
        Process c = p.fork("c");
        assertThat(c.mprotect(B, page, 1)).isEqualTo(Errno.OK); // splits the child's PMD
        assertThat(c.mprotect(B, page, 3)).isEqualTo(Errno.OK);
        long frames = k.alloc.allocatedFrames();

        assertThat(c.touch(B + 5 * page, page, true)).isEqualTo(Errno.OK);
        assertThat(mapped(k, c, B + 5 * page).pa()).as("the child's page 5 is a copy").isNotEqualTo(thp.pa() + 5 * page);
        assertThat(mapped(k, p, B + 5 * page).pa()).as("the parent keeps the folio").isEqualTo(thp.pa() + 5 * page);
        assertThat(k.alloc.allocatedFrames()).as("one new frame").isEqualTo(frames + 1);

        assertThat(p.munmap(B, huge)).isEqualTo(Errno.OK); // the folio is now the child's alone
        assertThat(c.touch(B + 6 * page, page, true)).isEqualTo(Errno.OK);
        assertThat(mapped(k, c, B + 6 * page).pa()).as("reused in place").isEqualTo(thp.pa() + 6 * page);
        assertThat(mapped(k, c, B + 6 * page).prot().write()).isTrue();
        c.exit();
        p.exit();
    }

    private static Translation.Mapped mapped(Kernel k, Process p, long va) {
        Translation t = Translations.translate(k.pageTables(), p.mm(), va);
        assertThat(t).as("%s at 0x%x", p, va).isInstanceOf(Translation.Mapped.class);
        return (Translation.Mapped) t;
    }

    private static int refcount(Kernel k, long pa) {
        return k.alloc.memory().refcount(pa >>> k.pageTables().geometry().pageShift());
    }
}
