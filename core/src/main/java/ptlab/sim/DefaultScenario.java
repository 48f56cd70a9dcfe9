package ptlab.sim;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import ptlab.arch.Architecture;
import ptlab.arch.Level;
import ptlab.check.Checker;
import ptlab.cpu.SimCpu;
import ptlab.cpu.Violation;
import ptlab.mm.Advice;
import ptlab.mm.Kernel;
import ptlab.mm.Process;
import ptlab.pgtable.KernelConfig;
import ptlab.pgtable.PageTables;
import ptlab.pgtable.PtStats;

/**
 * The built-in scenario of {@code ptlab simulate}, for one architecture: several processes
 * whose address spaces are built concurrently by simulated CPUs (threads faulting into shared
 * page tables, racing to install the same tables), then forked, protected, reclaimed with
 * MADV_DONTNEED, collapsed, partly unmapped and exited, with the invariant checker run after
 * each phase. Deterministic for a seed: only the interleaving of the faulting CPUs varies,
 * and nothing reported depends on it.
 */
public final class DefaultScenario {
    /** Result of one run. */
    public record Result(
            String arch,
            long[] peakTablesPerLevel,
            long peakPgtablesBytes,
            long peakNrPagetable,
            long ctors,
            long dtors,
            long dynamicPtlocks,
            long ptlockInits,
            long installRacesLost,
            long tlbFlushes,
            long finalNrPagetable,
            List<Violation> violations,
            long millis) {}

    private final KernelConfig config;
    private final int cpus;
    private final long seed;

    public DefaultScenario(KernelConfig config, int cpus, long seed) {
        this.config = config;
        this.cpus = cpus;
        this.seed = seed;
    }

    public Result run() {
        long t0 = System.nanoTime();
        Kernel k = new Kernel(config);
        PageTables pt = k.pageTables();
        Architecture a = config.arch();
        long page = a.geometry().pageSize();
        long pmd = a.geometry().entrySize(Level.PMD);
        final long region = Math.min(Math.max(8 * pmd, 64 * page * 512 / 8), 1L << 30);
        final long base = Math.max(1L << 32, region) & -region;
        SplittableRandom rnd = new SplittableRandom(seed);
        List<Violation> violations = new ArrayList<>();
        int nproc = 3;
        List<Process> procs = new ArrayList<>();
        for (int i = 0; i < nproc; i++) {
            Process p = k.newProcess("proc" + i);
            procs.add(p);
            p.mmap(base, region, 3, false);
            p.madvise(base, region / 2, Advice.HUGEPAGE);
            p.mmap(base + 2 * region, region, 3, true);
        }
        // Phase 1: CPUs fault the same regions concurrently (install races on shared tables).
        List<Thread> threads = new ArrayList<>();
        for (int c = 0; c < cpus; c++) {
            final int cpuId = c;
            final long cseed = rnd.nextLong();
            Thread t = new Thread(() -> {
                SimCpu cpu = new SimCpu(cpuId);
                cpu.bindCurrentThread();
                SplittableRandom r = new SplittableRandom(cseed);
                for (Process p : procs) {
                    long chunk = region / 4;
                    for (int j = 0; j < 4; j++) {
                        long off = ((j + cpuId) % 4) * chunk;
                        p.touch(base + off, chunk, r.nextBoolean() || j == 0);
                        p.touch(base + 2 * region + off, chunk / 2, true);
                    }
                }
            }, "cpu" + c);
            threads.add(t);
            t.start();
        }
        for (Thread t : threads) {
            try {
                t.join();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted", e);
            }
        }
        violations.addAll(Checker.check(pt));
        long[] peak = new long[5];
        PtStats s = pt.stats();
        for (Level l : Level.values()) {
            peak[l.ordinal()] = s.liveTables(l);
        }
        long peakBytes = 0;
        for (Process p : procs) {
            peakBytes += p.vmPteBytes();
        }
        long peakNr = s.nrPagetable();
        // Phase 2: fork, protect, reclaim, collapse, partial unmap.
        List<Process> children = new ArrayList<>();
        for (Process p : procs) {
            children.add(p.fork(p.mm().name() + "-child"));
            p.mprotect(base, region / 4, 1);
            p.madvise(base + region / 2, region / 4, Advice.DONTNEED);
            p.madvise(base + 3 * region / 4, region / 4, Advice.HUGEPAGE);
            p.madvise(base + 3 * region / 4, region / 4, Advice.COLLAPSE);
            p.munmap(base + region / 8, region / 8 + page);
            p.touch(base + 2 * region, region, false);
        }
        violations.addAll(Checker.check(pt));
        for (Process c : children) {
            c.exit();
        }
        for (Process p : procs) {
            p.exit();
        }
        violations.addAll(Checker.check(pt));
        return new Result(a.name(), peak, peakBytes, peakNr, sum(s, true), sum(s, false), s.dynamicPtlockAllocs(), s.ptlockInits(),
                s.installRacesLost(), k.tlbFlushes(), s.nrPagetable(), violations, (System.nanoTime() - t0) / 1_000_000);
    }

    private static long sum(PtStats s, boolean ctors) {
        long n = 0;
        for (Level l : Level.values()) {
            n += ctors ? s.ctorCalls(l) : s.dtorCalls(l);
        }
        return n;
    }
}
