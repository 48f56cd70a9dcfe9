package ptlab.bench;

import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;
import ptlab.cpu.ViolationLog;
import ptlab.phys.AllocResult;
import ptlab.phys.BuddyAllocator;
import ptlab.phys.Gfp;
import ptlab.phys.PhysicalMemory;

/**
 * Cost of one order-0 {@code alloc_page(GFP_KERNEL)} + {@code __free_page} pair on a 64 GiB
 * simulated machine that already has memory in use, so the pair runs through the split/merge
 * paths and touches existing sections, not a fresh one. Goal: at most 50 ns per pair.
 *
 * <p>The background holds a mix of orders with holes between them (every other block is freed
 * again), so the order-0 free lists are non-empty and the freed frame merges with a buddy.
 *
 * <pre>
 * mvn -B -ntp -q -DskipTests -pl bench -am package
 * java -jar bench/target/benchmarks.jar AllocBench -f 1 -wi 2 -w 1s -i 3 -r 1s
 * </pre>
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class AllocBench {
    private static final long RAM = 64L << 30;
    private static final String SITE = "bench_alloc_page";

    private BuddyAllocator alloc;

    @Setup(Level.Trial)
    public void setup() {
        alloc = new BuddyAllocator(new PhysicalMemory(12, RAM, new ViolationLog(false)));
        // ~600 MiB in use across several sections, with holes at every order.
        for (int round = 0; round < 150; round++) {
            for (int order = 0; order <= BuddyAllocator.MAX_ORDER; order++) {
                alloc.allocate(order, Gfp.KERNEL, "setup").pfnOrThrow();
                long hole = alloc.allocate(order, Gfp.KERNEL, "setup").pfnOrThrow();
                alloc.free(hole, order);
            }
        }
        if (alloc.memory().sectionsInUse() < 4) {
            throw new IllegalStateException("setup should spread over several sections: " + alloc.memory().sectionsInUse());
        }
    }

    /** One order-0 allocation and its free. */
    @Benchmark
    public long allocFreeOrder0() {
        AllocResult r = alloc.allocate(0, Gfp.KERNEL, SITE);
        long pfn = ((AllocResult.Frames) r).pfn();
        alloc.free(pfn, 0);
        return pfn;
    }
}
