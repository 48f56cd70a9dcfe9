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
import org.openjdk.jmh.annotations.Warmup;
import ptlab.mm.Advice;
import ptlab.mm.Kernel;
import ptlab.mm.Process;
import ptlab.pgtable.KernelConfig;
import ptlab.pgtable.PageTables;
import ptlab.pgtable.PteMapping;
import ptlab.pgtable.PteMaps;
import ptlab.phys.PageDesc;

/**
 * A lockless walk over 1 GiB of populated 4K PTEs, as the kernel's pagemap read does
 * (31.8 ns/page on this machine, {@code shared/reference/kernel-costs.md}): for each of the 512
 * PMDs, {@code pte_offset_map} (an RCU read section, the PMD snapshot, the use-after-free check
 * armed) and 512 {@code ptep_get_lockless} reads, then {@code pte_unmap}. Goal: ≤ 3 ns/page.
 *
 * <pre>
 * mvn -B -ntp -q -DskipTests -pl bench -am package
 * java -jar bench/target/benchmarks.jar PteWalkBench -f 1 -wi 3 -w 1s -i 5 -r 1s
 * </pre>
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class PteWalkBench {
    static final long VA = 0x1000_0000_0000L;
    static final long GIB = 1L << 30;
    static final int PAGES = (int) (GIB >> 12);

    private PteMaps maps;
    private Process proc;
    private PageDesc[] pmdTables;
    private int[] pmdIndex;

    @Setup(Level.Trial)
    public void setup() {
        Kernel k = new Kernel(KernelConfig.defaults());
        PageTables pt = k.pageTables();
        proc = k.newProcess("bench");
        proc.mmap(VA, GIB, 3, false);
        proc.madvise(VA, GIB, Advice.NOHUGEPAGE);
        proc.touch(VA, GIB, true);
        maps = pt.pteMaps();
        pmdTables = new PageDesc[512];
        pmdIndex = new int[512];
        for (int i = 0; i < 512; i++) {
            long va = VA + ((long) i << 21);
            pmdTables[i] = k.installer().lookup(proc.mm(), va, ptlab.arch.Level.PMD);
            pmdIndex[i] = pt.geometry().index(ptlab.arch.Level.PMD, va);
        }
    }

    /** Present PTEs counted over the GiB; every page is visited once. */
    @Benchmark
    @OperationsPerInvocation(PAGES)
    public long walk() {
        long present = 0;
        for (int i = 0; i < 512; i++) {
            PteMapping m = maps.map(proc.mm(), pmdTables[i], pmdIndex[i]);
            if (!(m instanceof PteMapping.Mapped)) {
                continue;
            }
            try (PteMapping.Mapped t = (PteMapping.Mapped) m) {
                for (int j = 0; j < 512; j++) {
                    present += t.read(j) & 1;
                }
            }
        }
        return present;
    }
}
