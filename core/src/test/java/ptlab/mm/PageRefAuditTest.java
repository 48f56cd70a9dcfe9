package ptlab.mm;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import ptlab.check.CheckedKernels;
import ptlab.cpu.Violation;
import ptlab.kmap.Translation;
import ptlab.kmap.Translations;
import ptlab.pgtable.KernelConfig;
import ptlab.phys.Gfp;

/**
 * The data-folio reference audit ({@link Kernel#auditPageRefs}), which CheckedKernels runs
 * after every test: clean on private, shared, THP, forked and copied-on-write memory, and each
 * kind of reference bug it exists for is reported: a get too many, a put that frees a page
 * still mapped, and a folio leaked with a reference no one will put (the mutation audit's
 * M10/M16/M22 kind, caught before only where a test counted frames).
 */
class PageRefAuditTest {
    @RegisterExtension
    final CheckedKernels checked = new CheckedKernels();

    private static final long B = 0x10_0000_0000L;
    private static final long MB2 = 2L << 20;

    @Test
    void cleanAcrossPrivateSharedThpForkAndCow() {
        Kernel k = checked.kernel(KernelConfig.defaults().withRam(1L << 30));
        Process p = k.newProcess("p");
        assertThat(p.mmap(B, 4 * MB2, 3, false)).isEqualTo(Errno.OK);
        assertThat(p.madvise(B, 2 * MB2, Advice.HUGEPAGE)).isEqualTo(Errno.OK);
        assertThat(p.touch(B, 4 * MB2, true)).isEqualTo(Errno.OK); // one THP, one PMD of 4K pages...
        assertThat(p.mmap(B + 8 * MB2, MB2, 3, true)).isEqualTo(Errno.OK); // shared: page cache + mapping
        assertThat(p.touch(B + 8 * MB2, MB2, true)).isEqualTo(Errno.OK);
        Process c = p.fork("c");
        assertThat(c.touch(B + 3 * MB2, 4096, true)).isEqualTo(Errno.OK); // COW copy in the child
        assertThat(p.munmap(B + MB2, 4096)).isEqualTo(Errno.OK); // splits the parent's THP mapping
        assertThat(k.auditPageRefs()).isEmpty();
        c.exit();
        assertThat(k.auditPageRefs()).isEmpty();
        assertThat(k.processes()).containsExactly(p);
    }

    @Test
    void aGetTooManyIsReported() {
        Kernel k = checked.kernel(KernelConfig.defaults());
        long pfn = brokenLater(k);
        Pages.get(k, pfn, "test_extra_get");
        List<Violation> v = k.auditPageRefs();
        assertThat(v).hasSize(1);
        assertThat(v.get(0).detail()).contains("folio 0x" + Long.toHexString(pfn) + " has refcount 2 but 1 reference(s)")
                .contains("p va 0x" + Long.toHexString(B));
    }

    @Test
    void aPutThatFreesAMappedPageIsReported() {
        Kernel k = checked.kernel(KernelConfig.defaults());
        long pfn = brokenLater(k);
        Pages.put(k, pfn, "test_early_put"); // the mapping's reference: the page goes back to the allocator
        List<Violation> v = k.auditPageRefs();
        assertThat(v).extracting(Violation::detail)
                .containsExactly("p va 0x" + Long.toHexString(B) + " (PTE) maps pfn 0x" + Long.toHexString(pfn) + ", a free frame");
    }

    @Test
    void aFolioNoOneHoldsIsALeak() {
        Kernel k = checked.kernel(KernelConfig.defaults());
        checked.expect("page-ref");
        long leaked = k.alloc.allocate(1, Gfp.HIGHUSER, "test_leak").pfnOrThrow();
        k.alloc.allocate(0, Gfp.KERNEL, "test_kernel_page").pfnOrThrow(); // not user memory: not the audit's
        List<Violation> v = k.auditPageRefs();
        assertThat(v).extracting(Violation::detail).containsExactly("folio 0x" + Long.toHexString(leaked)
                + " (order 1, refcount 1) is allocated, but no mapping or page cache holds it (leaked)");
        assertThat(k.log().snapshot()).containsAll(v); // where the checker reports it
    }

    /**
     * Process "p" with one written page at B, on a machine whose page-ref violations the test
     * means to cause (declared to CheckedKernels); returns the page's pfn.
     */
    private long brokenLater(Kernel k) {
        checked.expect("page-ref");
        Process p = k.newProcess("p");
        assertThat(p.mmap(B, 4096, 3, false)).isEqualTo(Errno.OK);
        assertThat(p.touch(B, 4096, true)).isEqualTo(Errno.OK);
        Translation t = Translations.translate(k.pageTables(), p.mm(), B);
        assertThat(t).isInstanceOf(Translation.Mapped.class);
        return ((Translation.Mapped) t).pa() >>> k.geo.pageShift();
    }
}
