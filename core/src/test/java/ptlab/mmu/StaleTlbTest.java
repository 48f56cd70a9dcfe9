package ptlab.mmu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.function.Consumer;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import ptlab.check.CheckedKernels;
import ptlab.cpu.SimCpu;
import ptlab.cpu.Violation;
import ptlab.mm.Advice;
import ptlab.mm.Errno;
import ptlab.mm.Kernel;
import ptlab.mm.Process;
import ptlab.pgtable.KernelConfig;

/**
 * The mm operations flush through the MMU: after each one the stale-TLB audit is clean, and
 * the same operation with its flushes dropped (fault injection) is caught by the audit (the
 * negative control).
 */
class StaleTlbTest {
    @RegisterExtension
    final CheckedKernels checked = new CheckedKernels();

    /** Where the MMU tests that run mm operations map their memory, and the THP size. */
    static final long BASE = 0x4000_0000L;
    static final long HUGE = 2L << 20;

    @ParameterizedTest(name = "{0} dropFlush={1}")
    @CsvSource({
        "munmap,false", "munmap,true",
        "mprotect,false", "mprotect,true",
        "dontneed,false", "dontneed,true",
        "fork,false", "fork,true",
        "thpSplit,false", "thpSplit,true",
        "thpZap,false", "thpZap,true",
        "thpSplitVma,false", "thpSplitVma,true",
        "thpFork,false", "thpFork,true",
    })
    void operationFlushes(String op, boolean drop) {
        Kernel k = checked.kernel(KernelConfig.defaults().withRam(1L << 30));
        Process p = k.newProcess("p");
        boolean thp = op.startsWith("thp");
        long len = thp ? 2 * HUGE : 16 * 4096;
        assertEquals(Errno.OK, p.mmap(BASE, len, 3, false));
        if (thp) {
            assertEquals(Errno.OK, p.madvise(BASE, len, Advice.HUGEPAGE));
        }
        assertEquals(Errno.OK, p.touch(BASE, len, true));
        CpuMmu cpu = cachingCpu(k, p, BASE, len);
        if (thp) {
            Translation t = cpu.translate(BASE, AccessKind.READ, Privilege.USER);
            assertEquals(HUGE, ((Translation.Mapped) t).pageSize(), "a PMD-mapped THP in the TLB: " + t);
        }
        if (drop) {
            k.mmu().dropNextFlushes(1000);
        }
        Consumer<Process> action = ops(op, len);
        action.accept(p);
        k.mmu().dropNextFlushes(0);
        List<Violation> v = k.mmu().audit();
        if (drop) {
            assertFalse(v.isEmpty(), op + " without its flush must leave a stale TLB entry the audit sees");
            assertTrue(v.stream().allMatch(x -> x.kind().equals("stale-tlb")), v.toString());
            k.log().clear();
            k.mmu().flushAll(); // leave the machine clean for the checker
        } else {
            assertTrue(v.isEmpty(), op + ": " + v);
        }
        cpu.leave();
    }

    /**
     * Attaches the calling thread as a CPU running {@code p} and writes every page of
     * {@code [base, base + len)} through it, so that each is in its TLB.
     */
    static CpuMmu cachingCpu(Kernel k, Process p, long base, long len) {
        CpuMmu cpu = k.mmu().attach(SimCpu.current());
        cpu.switchMm(p.mm());
        for (long a = base; a < base + len; a += 4096) {
            assertFalse(Translation.isFault(cpu.translatePa(a, AccessKind.WRITE, Privilege.USER)), "mapped 0x" + Long.toHexString(a));
        }
        return cpu;
    }

    private static Consumer<Process> ops(String op, long len) {
        switch (op) {
            case "munmap":
                return p -> assertEquals(Errno.OK, p.munmap(BASE, len));
            case "mprotect":
                return p -> assertEquals(Errno.OK, p.mprotect(BASE, len, 1));
            case "dontneed":
                return p -> assertEquals(Errno.OK, p.madvise(BASE, len, Advice.DONTNEED));
            case "fork":
                return p -> p.fork("child");
            case "thpSplit":
                return p -> assertEquals(Errno.OK, p.mprotect(BASE + 4096, 4096, 1));
            case "thpSplitVma":
                // A VMA boundary inside the THP (vma_adjust_trans_huge) splits it, and nothing
                // else flushes: the split's own flush after pmdp_invalidate must drop the huge
                // TLB entry, or it stays cached beside the new PTEs (an entry of another size).
                return p -> assertEquals(Errno.OK, p.madvise(BASE + 4096, 4096, Advice.NOHUGEPAGE));
            case "thpFork":
                // copy_huge_pmd write-protects the parent's huge PMD: its flush must drop the
                // writable huge TLB entry, or the parent writes to the page the child shares.
                return p -> p.fork("child");
            default:
                return p -> assertEquals(Errno.OK, p.munmap(BASE, HUGE));
        }
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({"munmap", "mprotect"})
    void translationAfterTheOperationSeesTheNewTables(String op) {
        Kernel k = checked.kernel(KernelConfig.defaults().withRam(1L << 30));
        Process p = k.newProcess("p");
        assertEquals(Errno.OK, p.mmap(BASE, 4096, 3, false));
        assertEquals(Errno.OK, p.touch(BASE, 4096, true));
        CpuMmu cpu = k.mmu().attach(SimCpu.current());
        cpu.switchMm(p.mm());
        assertFalse(Translation.isFault(cpu.translatePa(BASE, AccessKind.WRITE, Privilege.USER)));
        ops(op, 4096).accept(p);
        Translation t = cpu.translate(BASE, AccessKind.WRITE, Privilege.USER);
        FaultReason want = op.equals("munmap") ? FaultReason.NOT_PRESENT : FaultReason.WRITE_PROTECTED;
        assertEquals(want, ((Translation.Fault) t).reason(), t.toString());
        cpu.leave();
    }
}
