package ptlab.check;


import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import ptlab.cpu.Violation;
import ptlab.mm.Kernel;
import ptlab.mmu.FreedFrameCheck;
import ptlab.pgtable.KernelConfig;

/**
 * JUnit 5 extension: a test (registered with {@code @RegisterExtension}) creates its machines
 * through {@link #kernel}, and after the test the invariant checker runs on each of them; any
 * violation fails the test unless the test declared it with {@link #expect}. Before that it
 * fails a test that left the test thread's CPU in an RCU read section or with preemption off,
 * and repairs the CPU ({@link CpuStateCheck}).
 */
public final class CheckedKernels implements AfterEachCallback {
    private final List<Kernel> kernels = new ArrayList<>();
    private final List<String> expected = new ArrayList<>();

    /**
     * A new machine that will be checked after the test. Every free is also checked against
     * the CPUs' TLBs as it happens ({@link FreedFrameCheck}: a frame freed before its flush).
     */
    public Kernel kernel(KernelConfig config) {
        Kernel k = new Kernel(config);
        FreedFrameCheck.install(k.mmu(), k.pageTables().allocator());
        kernels.add(k);
        return k;
    }

    /** Declares that violations of {@code kind} are the point of this test. */
    public void expect(String kind) {
        expected.add(kind);
    }

    /** Runs the checker now on every machine of the test. */
    public List<Violation> check() {
        List<Violation> all = new ArrayList<>();
        for (Kernel k : kernels) {
            k.mmu().audit(); // stale-TLB audit: its violations land in the log the checker reads
            k.auditPageRefs(); // data-folio references, likewise
            all.addAll(Checker.checkDrained(k.pageTables())); // rcu_barrier first: deferred frees count
        }
        return all;
    }

    @Override
    public void afterEach(ExtensionContext ctx) {
        try {
            // First: a CPU left in an RCU section would stall the checker's rcu_barrier.
            CpuStateCheck.assertCleanAndReset(ctx.getDisplayName());
            List<Violation> bad = new ArrayList<>();
            for (Violation v : check()) {
                if (!expected.contains(v.kind())) {
                    bad.add(v);
                }
            }
            if (!bad.isEmpty()) {
                throw new AssertionError("invariant checker after " + ctx.getDisplayName() + ": " + bad.size() + " violation(s), first: "
                        + bad.subList(0, Math.min(5, bad.size())));
            }
        } finally {
            kernels.clear();
            expected.clear();
        }
    }
}
