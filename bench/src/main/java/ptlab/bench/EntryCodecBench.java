package ptlab.bench;

import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.Blackhole;
import ptlab.arch.Architectures;
import ptlab.arch.PageProt;
import ptlab.arch.PteFormat;

/**
 * Cost of encoding and decoding one PTE-level leaf ({@code pfn_pte}, {@code pte_pfn} +
 * {@code pte_pgprot}, {@code pte_present} + {@code pte_pfn}) per format. Inputs are a
 * precomputed ring of random page addresses and protections, so the measurement sees varied
 * words rather than one constant the JIT could fold; {@code encode} mixes four protections (the
 * branches on them are unpredictable), {@code encodeOneProt} keeps one. Each {@code arch} runs in its own fork,
 * so the format call site is monomorphic as it would be in a single-architecture run.
 *
 * <p>Two shapes. The single-call benchmarks ({@code encode}, {@code decode...}) pay JMH's
 * per-invocation cost, about 2 ns on this host ({@code baseline} measures it alone), which is
 * as much as the codec itself. The {@code batch...} benchmarks run the same operation over
 * the whole ring in one invocation ({@link OperationsPerInvocation}, so the score is per entry):
 * the shape of the kernel's callers, which encode and decode inside loops over a table
 * ({@code set_ptes}, {@code change_pte_range}, {@code copy_pte_range}). The sums keep every
 * result live, so the JIT cannot drop the work.
 *
 * <p>Run: {@code java -jar bench/target/benchmarks.jar EntryCodecBench -f 1 -wi 2 -w 1s -i 3 -r 1s}
 */
/*
 * Measured figures (ns per entry, batch benchmarks, -f 2 -wi 3 -w 1s -i 5 -r 1s; 2-core 2.1 GHz
 * VM shared with other builds, +-30%; two alternating runs of the jar before and after the
 * table-driven codec, load average 1-4.4), x86_64-4l / arm64-4k-48 / riscv-sv48:
 *
 *   benchmark                   before                           after
 *   batchEncode (4 prots)       4.5-5.1 / 4.5-6.1 / 5.1-5.2      0.65-0.84 / 0.97-1.17 / 1.14-1.31
 *   batchEncodeOneProt          1.2-1.7 / 1.9-2.3 / 1.4-1.6      0.46-0.58 / 0.57-0.80 / 0.57-0.78
 *   batchDecodeLeafAndAddress   0.46-0.51 / 1.1-1.4 / 1.0-1.2    0.55-0.67 / 0.54-0.63 / 0.78-0.90
 *   batchDecodeAddressAndProt   3.0-3.6 / 5.1-6.5 / 2.2-3.0      1.29-1.54 / 1.48-1.51 / 1.37-1.49
 *
 * What did it: PageProt carries its dense ProtTable index, so an encode is pa | bits[index]
 * (one load, no branch per flag; the branches mispredicted with four mixed protections); a
 * leaf's pa is checked with one reject mask; arm64 with 48-bit PA skips the PA[51:48] shift
 * (a loop-invariant test on a final field). A protection decode is one load from a per-format
 * table keyed by the bits the protection depends on. Indices are built so that C2 proves them
 * in range (a masked index, a sum of masked parts): no range check in the loop (read off the
 * C2 code dumped with -XX:CompileCommand=print).
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
@State(Scope.Thread)
public class EntryCodecBench {
    private static final int RING = 1024;
    private static final ptlab.arch.Level PTE = ptlab.arch.Level.PTE;
    private static final PageProt[] PROTS = {PageProt.USER_RW, PageProt.USER_READ, PageProt.KERNEL_RW, PageProt.USER_RX};

    @Param({"x86_64-4l", "arm64-4k-48", "riscv-sv48"})
    public String arch;

    private PteFormat format;
    private final long[] pas = new long[RING];
    private final PageProt[] prots = new PageProt[RING];
    private final long[] entries = new long[RING];
    private int next;

    @Setup(Level.Trial)
    public void setUp() {
        format = Architectures.byName(arch).format();
        SplittableRandom rnd = new SplittableRandom(42);
        for (int i = 0; i < RING; i++) {
            pas[i] = rnd.nextLong(1L << 28) << 12; // page-aligned, below 1 TiB
            prots[i] = PROTS[rnd.nextInt(PROTS.length)];
            entries[i] = format.mkLeaf(PTE, pas[i], prots[i]);
        }
    }

    private int slot() {
        int i = next;
        next = (i + 1) & (RING - 1);
        return i;
    }

    /** The harness alone (ring index, array load, return): subtract it from the others for the codec's own cost. */
    @Benchmark
    public long baseline() {
        return pas[slot()];
    }

    @Benchmark
    public long encode() {
        int i = slot();
        return format.mkLeaf(PTE, pas[i], prots[i]);
    }

    /** The common kernel case: one protection for a range of pages ({@code set_ptes}, a fault-around batch). */
    @Benchmark
    public long encodeOneProt() {
        return format.mkLeaf(PTE, pas[slot()], PageProt.USER_RW);
    }

    @Benchmark
    public void decodeAddressAndProt(Blackhole bh) {
        long e = entries[slot()];
        bh.consume(format.outputAddress(PTE, e));
        bh.consume(format.prot(PTE, e));
    }

    /** Encode with mixed protections, per entry, inside a loop over the ring. */
    @Benchmark
    @OperationsPerInvocation(RING)
    public long batchEncode() {
        long sum = 0;
        for (int i = 0; i < RING; i++) {
            sum += format.mkLeaf(PTE, pas[i], prots[i]);
        }
        return sum;
    }

    /** Encode with one protection, per entry ({@code set_ptes} of a range). */
    @Benchmark
    @OperationsPerInvocation(RING)
    public long batchEncodeOneProt() {
        long sum = 0;
        for (int i = 0; i < RING; i++) {
            sum += format.mkLeaf(PTE, pas[i], PageProt.USER_RW);
        }
        return sum;
    }

    /** {@code pte_present} + {@code pte_pfn}, per entry (a walker's test and step). */
    @Benchmark
    @OperationsPerInvocation(RING)
    public long batchDecodeLeafAndAddress() {
        long sum = 0;
        for (int i = 0; i < RING; i++) {
            long e = entries[i];
            if (format.isLeaf(PTE, e)) {
                sum += format.outputAddress(PTE, e);
            }
        }
        return sum;
    }

    /**
     * {@code pte_pfn} + {@code pte_pgprot}, per entry. The sum reads a field of each decoded
     * protection, which keeps the whole decode live (the record comes from a table lookup on an
     * index built from every protection bit). Storing the records into an array instead, as
     * this benchmark first did, timed G1's card-marking barrier more than the decode.
     */
    @Benchmark
    @OperationsPerInvocation(RING)
    public long batchDecodeAddressAndProt() {
        long sum = 0;
        for (int i = 0; i < RING; i++) {
            long e = entries[i];
            sum += format.outputAddress(PTE, e) + (format.prot(PTE, e).write() ? 1 : 0);
        }
        return sum;
    }

    @Benchmark
    public void decodeLeafAndAddress(Blackhole bh) {
        long e = entries[slot()];
        bh.consume(format.isLeaf(PTE, e));
        bh.consume(format.outputAddress(PTE, e));
    }
}
