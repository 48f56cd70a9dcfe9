package ptlab.bench;

import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import ptlab.arch.PageProt;
import ptlab.cpu.ViolationLog;
import ptlab.pgtable.KernelConfig;
import ptlab.pgtable.Mm;
import ptlab.pgtable.MmKind;
import ptlab.pgtable.PageTables;
import ptlab.range.PageRanges;

/**
 * Page-table work per 4 KiB PTE over 1 GiB (262144 PTEs, 512 PTE tables) on x86-64 4-level,
 * the kernel's anchor in {@code shared/reference/kernel-costs.md}: populate (map; the kernel's
 * figure also zeroes data pages), change protection (mprotect 77–86 ns/PTE), unmap (munmap
 * 278 ns/PTE) and fork's copy_page_range with COW (77 ns/PTE). Goals: protect ≤ 8 ns/PTE,
 * populate ≤ 40, fork copy ≤ 8. Each invocation covers the whole GiB; setup and teardown of
 * the other side (a fresh mm, the child's teardown) are outside the timing.
 *
 * <pre>
 * mvn -B -ntp -q -DskipTests -pl bench -am package
 * java -jar bench/target/benchmarks.jar RangeBench -f 1 -wi 3 -w 1s -i 5 -r 1s
 * </pre>
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class RangeBench {
    static final long GIB = 1L << 30;
    static final long PAGE = 4096;
    static final int PTES = (int) (GIB / PAGE);
    static final long VA = 0x1000_0000_0000L;
    static final long PA = 0x40_0000_0000L;

    private PageTables pt;
    private PageRanges r;
    private Mm populated;
    private Mm fresh;
    private Mm child;
    private Mm victim;
    private boolean readOnly;

    @Setup(Level.Trial)
    public void setup() {
        pt = new PageTables(KernelConfig.defaults(), new ViolationLog(false));
        r = new PageRanges(pt);
        populated = pt.newMm("populated", MmKind.USER);
        r.map(populated, VA, PA, GIB, PAGE, PageProt.USER_RW);
    }

    @Setup(Level.Invocation)
    public void perInvocation() {
        fresh = pt.newMm("fresh", MmKind.USER);
        child = pt.newMm("child", MmKind.USER);
        victim = pt.newMm("victim", MmKind.USER);
        r.map(victim, VA, PA, GIB, PAGE, PageProt.USER_RW);
    }

    @TearDown(Level.Invocation)
    public void afterInvocation() {
        r.teardown(fresh);
        r.teardown(child);
        r.teardown(victim);
    }

    /** {@code vmap}/{@code remap_pfn_range} of 1 GiB with 4K PTEs into an empty mm: tables installed, PTEs written. */
    @Benchmark
    @OperationsPerInvocation(PTES)
    public void populate() {
        r.map(fresh, VA, PA, GIB, PAGE, PageProt.USER_RW);
    }

    /** {@code change_protection} over the populated GiB, RW→R and R→RW in turn. */
    @Benchmark
    @OperationsPerInvocation(PTES)
    public long protect() {
        readOnly = !readOnly;
        return r.protect(populated, VA, GIB, readOnly ? PageProt.USER_READ : PageProt.USER_RW);
    }

    /** {@code copy_page_range} of the populated GiB into an empty child, write-protecting both (COW). */
    @Benchmark
    @OperationsPerInvocation(PTES)
    public long forkCopy() {
        return r.copy(populated, child, VA, GIB, true);
    }

    /** Unmap of a populated GiB: PTEs cleared, 512 PTE tables and the PMD table freed after the flush. */
    @Benchmark
    @OperationsPerInvocation(PTES)
    public long unmap() {
        return r.unmap(victim, VA, GIB);
    }
}
