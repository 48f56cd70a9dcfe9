package ptlab.bench;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;
import ptlab.mm.Advice;
import ptlab.mm.Kernel;
import ptlab.mm.Process;
import ptlab.pgtable.KernelConfig;

/**
 * Fault-in throughput: each operation write-faults the 512 pages of one PMD span (a PTE table
 * installed, 512 pages allocated and mapped under the PTE lock) and zaps them again with
 * MADV_DONTNEED (PT reclaim frees the table). One thread vs two threads on disjoint PMDs of
 * one mm, with split PTE/PMD locks vs the mm-wide {@code page_table_lock}.
 *
 * <pre>
 * java -jar bench/target/benchmarks.jar FaultInBench -f 1 -wi 2 -w 1s -i 3 -r 1s
 * </pre>
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class FaultInBench {
    private static final long BASE = 0x10_0000_0000L;
    private static final long PMD = 2L << 20;

    @State(Scope.Benchmark)
    public static class Machine {
        @Param({"split", "mm-wide"})
        public String locks;

        Process p;
        final AtomicInteger nextSlot = new AtomicInteger();

        @Setup(Level.Trial)
        public void setup() {
            KernelConfig c = KernelConfig.defaults().withRam(1L << 30);
            if (locks.equals("mm-wide")) {
                c = c.withPtlocks(false, false, false);
            }
            Kernel k = new Kernel(c);
            p = k.newProcess("bench");
            if (!p.mmap(BASE, 16 * PMD, 3, false).ok() || !p.madvise(BASE, 16 * PMD, Advice.NOHUGEPAGE).ok()) {
                throw new IllegalStateException("mmap");
            }
        }
    }

    @State(Scope.Thread)
    public static class Slot {
        long start;

        @Setup(Level.Trial)
        public void setup(Machine m) {
            start = BASE + m.nextSlot.getAndIncrement() * 2 * PMD; // disjoint PMDs (and PTE tables)
        }
    }

    private static long faultAndZap(Machine m, Slot s) {
        if (!m.p.touch(s.start, PMD, true).ok() || !m.p.madvise(s.start, PMD, Advice.DONTNEED).ok()) {
            throw new IllegalStateException("touch/zap");
        }
        return s.start;
    }

    @Benchmark
    @Threads(1)
    public long oneThread(Machine m, Slot s) {
        return faultAndZap(m, s);
    }

    @Benchmark
    @Threads(2)
    public long twoThreads(Machine m, Slot s) {
        return faultAndZap(m, s);
    }
}
