package ptlab.bench;

import java.util.concurrent.TimeUnit;
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
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import ptlab.arch.Architectures;
import ptlab.kmap.Cpus;
import ptlab.kmap.KernelMappings;
import ptlab.kmap.LinearMapSplit;
import ptlab.mm.Kernel;
import ptlab.pgtable.KernelConfig;

/**
 * {@code linear_map_maybe_split_to_ptes} on a 64 GiB machine whose linear map is 64 1G blocks
 * (arm64 4K, 48-bit VA; a second CPU without BBML2_NOABORT makes the split needed): counting
 * walk, preallocation of 64 * (1 + 512) = 32 832 tables, the split to 4K PTEs inside
 * stop_machine, the leftover free and the flush. Goal: at most 1 s per split. Each invocation
 * gets a freshly booted machine (setup not timed).
 *
 * <pre>
 * mvn -B -ntp -q -DskipTests -pl bench -am package
 * java -jar bench/target/benchmarks.jar LinearMapSplitBench -f 1 -wi 2 -i 3
 * </pre>
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 2)
@Measurement(iterations = 5)
@Fork(value = 1, jvmArgs = {"-Xmx3g"})
public class LinearMapSplitBench {
    @Param({"68719476736"})
    long ramBytes;

    private KernelMappings km;
    private LinearMapSplit.Outcome last;

    @Setup(Level.Invocation)
    public void boot() {
        KernelConfig cfg = KernelConfig.of(Architectures.byName("arm64-4k-48")).withRam(ramBytes);
        km = new KernelMappings(new Kernel(cfg), new Cpus(2, true, false), false);
        if (!km.boot().ok()) {
            throw new IllegalStateException("boot failed");
        }
    }

    @Benchmark
    public LinearMapSplit.Outcome splitTo4k() {
        last = new LinearMapSplit(km).run(LinearMapSplit.Mode.PREALLOCATED, false);
        return last;
    }

    @TearDown(Level.Invocation)
    public void report() {
        if (last != null && (!last.result().ok() || last.consumed() != last.counted())) {
            throw new IllegalStateException("split went wrong: " + last);
        }
        System.out.println("tables counted=" + last.counted() + " consumed=" + last.consumed() + " freed=" + last.freed()
                + " NR_PAGETABLE=" + km.pageTables().stats().nrPagetable());
        km = null;
    }
}
