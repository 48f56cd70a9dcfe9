package ptlab.mm;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import ptlab.check.CheckedKernels;
import ptlab.pgtable.KernelConfig;
import ptlab.phys.FaultInjector;

/**
 * An mm developer's failure sweep without guessing: count the allocations and sites of an
 * operation, then fail each site in turn; every failure is the call's ENOMEM and the machine
 * stays consistent (the checker runs after the test). Before, counting meant arming a rule
 * that matched nothing, and a site name had to be guessed ({@code failSite("pte_alloc")},
 * the kernel's name, matches nothing and the touch answered OK).
 */
class FaultInjectionSitesTest {
    @RegisterExtension
    final CheckedKernels kernels = new CheckedKernels();

    private static final long B = 0x7f0000000000L;

    @Test
    void countThenFailEverySiteAFaultReaches() {
        Kernel k = kernels.kernel(KernelConfig.defaults().withRam(1L << 30));
        FaultInjector inj = k.pageTables().allocator().faultInjector();
        Process probe = k.newProcess("probe");
        probe.mmap(B, 4L << 20, 3, false);
        inj.count();
        assertThat(probe.touch(B, 4L << 20, true)).isEqualTo(Errno.OK);
        inj.reset();
        assertThat(inj.injectedFailures()).isZero();
        assertThat(inj.allocationsSeen()).isGreaterThan(1024);
        assertThat(inj.sitesSeen()).containsExactly("alloc_pud", "alloc_pmd", "alloc_pte", "do_anonymous_page");
        probe.exit();
        for (String site : inj.sitesSeen()) {
            long frames = k.pageTables().allocator().allocatedFrames();
            Process p = k.newProcess(site);
            p.mmap(B, 4L << 20, 3, false);
            inj.failSite(site);
            assertThat(p.touch(B, 4L << 20, true)).as(site).isEqualTo(Errno.ENOMEM);
            inj.reset();
            p.exit();
            k.pageTables().rcuBarrier();
            assertThat(k.pageTables().allocator().allocatedFrames()).as(site).isEqualTo(frames);
        }
    }
}
