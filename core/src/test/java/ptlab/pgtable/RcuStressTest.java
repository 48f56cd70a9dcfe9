package ptlab.pgtable;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import ptlab.check.CheckedKernels;
import ptlab.mm.Kernel;

/**
 * Tier 3 of the concurrency tests: the seeded multi-threaded stress run ({@link RcuStress}),
 * small here (a few seconds); {@code -Dptlab.rcu.stress.ops=10000000} makes it the long run.
 * The negative controls switch off the RCU deferral or the pmd_same recheck and expect the run
 * to catch the bug.
 */
class RcuStressTest {
    @RegisterExtension
    final CheckedKernels checked = new CheckedKernels();

    private static final long SEED = Long.getLong("ptlab.rcu.stress.seed", 7L);
    private static final long OPS = Long.getLong("ptlab.rcu.stress.ops", 200_000L);
    private static final int THREADS = Integer.getInteger("ptlab.rcu.stress.threads", 4);

    @Test
    void stressRunIsClean() throws Exception {
        Kernel k = checked.kernel(KernelConfig.defaults());
        RcuStress s = new RcuStress(k);
        long t0 = System.nanoTime();
        RcuStress.Result r = s.run(SEED, THREADS, OPS);
        System.out.printf("rcu stress seed=%d threads=%d: %s (%.1f s)%n", SEED, THREADS, r, (System.nanoTime() - t0) / 1e9);
        assertThat(r.failure()).isNull();
        assertThat(r.violations()).isEmpty();
        assertThat(r.gracePeriods()).isPositive();
        assertThat(r.deferredFrees()).isPositive();
        s.exitAll();
    }

    /** Negative control: pte_free_defer / tlb_remove_table free at once. Lockless readers must see freed memory. */
    @Test
    void withoutRcuDeferralUseAfterFreeIsCaught() throws Exception {
        RcuStress.Result r = null;
        for (int round = 0; round < 20; round++) {
            Kernel k = new Kernel(KernelConfig.defaults());
            k.pageTables().rcuDeferral = false;
            r = new RcuStress(k).run(SEED + round, THREADS, 100_000);
            if (r.useAfterFree() > 0) {
                break;
            }
        }
        System.out.println("negative control, no RCU deferral: " + r);
        assertThat(r.useAfterFree()).as("use-after-free reports without RCU deferral").isPositive();
    }

    /** Negative control: pte_offset_map_lock and lockAndRecheck skip pmd_same. Writes into detached tables must be caught. */
    @Test
    void withoutPmdSameRecheckDetachedWritesAreCaught() throws Exception {
        RcuStress.Result r = null;
        for (int round = 0; round < 20; round++) {
            Kernel k = new Kernel(KernelConfig.defaults());
            k.pageTables().pteMaps().pmdSameRecheck = false;
            r = new RcuStress(k).run(SEED + round, THREADS, 100_000);
            if (r.count("pmd-recheck") + r.count("free-nonempty") > 0) {
                break;
            }
        }
        System.out.println("negative control, no pmd_same recheck: " + r);
        assertThat(r.count("pmd-recheck") + r.count("free-nonempty")).as("writes into detached PTE tables").isPositive();
    }

    /**
     * The long run as a separate command (no JUnit): {@code java -cp core/target/classes:core/target/test-classes
     * ptlab.pgtable.RcuStressTest OPS [THREADS [SEED]]}.
     */
    public static void main(String[] args) throws Exception {
        long ops = args.length > 0 ? Long.parseLong(args[0]) : 10_000_000L;
        int threads = args.length > 1 ? Integer.parseInt(args[1]) : THREADS;
        long seed = args.length > 2 ? Long.parseLong(args[2]) : SEED;
        Kernel k = new Kernel(KernelConfig.defaults());
        RcuStress s = new RcuStress(k);
        long t0 = System.nanoTime();
        RcuStress.Result r = s.run(seed, threads, ops);
        System.out.printf("rcu stress seed=%d threads=%d: %s (%.1f s)%n", seed, threads, r, (System.nanoTime() - t0) / 1e9);
        for (ptlab.cpu.Violation v : r.violations().subList(0, Math.min(10, r.violations().size()))) {
            System.out.println("  " + v);
        }
        if (r.failure() != null) {
            r.failure().printStackTrace(System.out);
            System.exit(1);
        }
        s.exitAll();
        java.util.List<ptlab.cpu.Violation> after = ptlab.check.Checker.checkDrained(k.pageTables());
        System.out.println("after exit of both processes: checker violations=" + after.size() + " NR_PAGETABLE="
                + k.pageTables().stats().nrPagetable() + " pending_rcu_callbacks=" + k.pageTables().rcu().pending());
        System.exit(r.violations().isEmpty() && r.failure() == null && after.isEmpty() ? 0 : 1);
    }
}
