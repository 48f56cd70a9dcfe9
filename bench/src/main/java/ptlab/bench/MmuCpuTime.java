package ptlab.bench;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;

/**
 * The {@link MmuBench} workloads timed in thread CPU time instead of wall time, for a loaded
 * machine where JMH's wall-clock scores mostly measure the scheduler. Not a JMH benchmark: a
 * cross-check: {@code java -cp bench/target/benchmarks.jar ptlab.bench.MmuCpuTime [batches]}. Each workload
 * runs {@code batches} invocations of {@value MmuBench#BATCH} translations per round (default 200000, under a
 * minute in all on the development VM; the first version's fixed 20 million took about an hour), and the
 * figures are thread CPU nanoseconds per translation, as JMH's scores (@OperationsPerInvocation).
 */
public final class MmuCpuTime {
    private MmuCpuTime() {}

    public static void main(String[] args) {
        MmuBench b = new MmuBench();
        b.setup();
        ThreadMXBean mx = ManagementFactory.getThreadMXBean();
        long sink = 0;
        int ops = args.length > 0 ? Integer.parseInt(args[0]) : 200_000;
        for (int round = 0; round < 4; round++) {
            long[] t = new long[6];
            long t0 = mx.getCurrentThreadCpuTime();
            for (int i = 0; i < ops; i++) {
                sink += b.tlbHit();
            }
            t[0] = mx.getCurrentThreadCpuTime();
            for (int i = 0; i < ops; i++) {
                sink += b.tlbMissWalk4Level();
            }
            t[1] = mx.getCurrentThreadCpuTime();
            for (int i = 0; i < ops; i++) {
                sink += b.random1GiB4K();
            }
            t[2] = mx.getCurrentThreadCpuTime();
            for (int i = 0; i < ops; i++) {
                sink += b.random1GiBThp();
            }
            t[3] = mx.getCurrentThreadCpuTime();
            for (int i = 0; i < ops; i++) {
                sink += b.random1GiBHashMap();
            }
            t[4] = mx.getCurrentThreadCpuTime();
            for (int i = 0; i < ops; i++) {
                sink += b.random1GiB4KEmulatorTlb();
            }
            t[5] = mx.getCurrentThreadCpuTime();
            String[] names = {"tlbHit", "tlbMissWalk4Level", "random1GiB4K", "random1GiBThp", "random1GiBHashMap", "random1GiB4KEmulatorTlb"};
            StringBuilder line = new StringBuilder(round < 3 ? "warmup " : "cpu-ns/translation ");
            long prev = t0;
            for (int j = 0; j < t.length; j++) {
                line.append(names[j]).append('=').append(String.format("%.2f", (double) (t[j] - prev) / ops / MmuBench.BATCH)).append(' ');
                prev = t[j];
            }
            System.out.println(line.toString().trim());
        }
        System.out.println("(sink " + (sink & 1) + ")");
    }
}
