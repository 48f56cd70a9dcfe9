package ptlab.check;

import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import ptlab.cpu.SimCpu;
import ptlab.rcu.RcuReaders;

/**
 * After every test (auto-detected for the whole module, and called by {@link CheckedKernels}):
 * a test must not leave the test thread's {@link SimCpu} inside an RCU read section or with
 * preemption disabled. Such a leak is a failure of that test, and the CPU is repaired
 * ({@link RcuReaders#exitTask}, as {@code do_exit} does) so that later tests in the same JVM
 * neither stall in grace periods nor report might-sleep for someone else's section.
 */
public final class CpuStateCheck implements AfterEachCallback {
    @Override
    public void afterEach(ExtensionContext ctx) {
        assertCleanAndReset(ctx.getDisplayName());
    }

    /** Fails (after resetting the CPU) if the calling thread's CPU was left atomic. */
    public static void assertCleanAndReset(String test) {
        String cpu = SimCpu.current().toString();
        String left = RcuReaders.exitTask();
        if (left != null) {
            throw new AssertionError(test + " left " + cpu + " atomic: " + left + " (reset; an RCU section or preempt_disable"
                    + " was not closed on some path, e.g. an exception without try/finally)");
        }
    }
}
