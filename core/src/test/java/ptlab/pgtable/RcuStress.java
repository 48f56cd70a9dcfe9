package ptlab.pgtable;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import ptlab.arch.Geometry;
import ptlab.arch.Level;
import ptlab.arch.PteFormat;
import ptlab.check.Checker;
import ptlab.cpu.SimCpu;
import ptlab.cpu.Violation;
import ptlab.mm.Advice;
import ptlab.mm.Kernel;
import ptlab.mm.Process;
import ptlab.phys.PageDesc;
import ptlab.phys.PhysicalMemory;
import ptlab.rcu.RcuReaders;

/**
 * The seeded multi-threaded stress run of issue 7: host threads are simulated CPUs that fault,
 * walk locklessly with the {@code pte_offset_map} family (and from the PGD down, as GUP-fast
 * does, inside one RCU section), clear young bits through {@code rw_nolock} + recheck, collapse
 * shmem ranges (collapse_file + retract_page_tables, no mmap_lock on the other mm), reclaim
 * empty PTE tables (MADV_DONTNEED with PT reclaim), and munmap/mmap whole regions (free_pgtables
 * of every level). Afterwards: {@code rcu_barrier}, then the invariant checker.
 */
final class RcuStress {
    static final long MB = 1L << 20;
    /** Two processes (parent and a fork child) share four 2 MiB shmem files at S. */
    static final long S = 0x7f00_0000_0000L;
    static final int S_FILES = 4;
    /** Anonymous memory (PTE-mapped, no THP) at A: faults, PT reclaim, rw_nolock writers. */
    static final long A = 0x7e00_0000_0000L;
    static final long A_LEN = 8 * MB;
    /** A region in its own PUD/PMD tables that is unmapped and mapped again: all levels freed. */
    static final long B = 0x7d00_0000_0000L;
    static final long B_LEN = 4 * MB;
    /** Whether remaps include the shmem files (munmap + mmap of a fresh file) as well as B. */
    static final boolean SHMEM_REMAP = Boolean.parseBoolean(System.getProperty("ptlab.rcu.stress.shmemRemap", "true"));

    /**
     * Printed counters of one run: {@code ops} are the operations completed (a run that a
     * thread failure stopped early counts what was done); {@code leftOpen} names the CPUs whose
     * thread died inside an RCU section or with preemption off (closed by
     * {@link RcuReaders#exitTask} so later grace periods do not stall).
     */
    record Result(long ops, long faults, long walks, long rwWrites, long reclaims, long collapses, long remaps, long gracePeriods,
            long deferredFrees, long retries, long rwRetries, long noTable, List<Violation> violations, Throwable failure,
            List<String> leftOpen) {
        long useAfterFree() {
            return violations.stream().filter(v -> v.kind().equals("use-after-free")).count();
        }

        long count(String kind) {
            return violations.stream().filter(v -> v.kind().equals(kind)).count();
        }

        @Override
        public String toString() {
            return String.format("ops=%d faults=%d lockless_walks=%d rw_nolock_writes=%d reclaims=%d collapses=%d remaps=%d "
                    + "grace_periods=%d deferred_table_frees=%d map_lock_retries=%d rw_nolock_retries=%d no_table=%d "
                    + "violations=%d use_after_free=%d%s", ops, faults, walks, rwWrites, reclaims, collapses, remaps, gracePeriods,
                    deferredFrees, retries, rwRetries, noTable, violations.size(), useAfterFree(),
                    failure == null ? "" : " thread_failure=" + failure + (leftOpen.isEmpty() ? "" : " left_open=" + leftOpen));
        }
    }

    private final Kernel k;
    private final PageTables pt;
    private final PhysicalMemory mem;
    private final Geometry geo;
    private final PteFormat fmt;
    private final Process[] procs = new Process[2];
    private final AtomicLong faults = new AtomicLong();
    private final AtomicLong walks = new AtomicLong();
    private final AtomicLong rwWrites = new AtomicLong();
    private final AtomicLong rwRetries = new AtomicLong();
    private final AtomicLong reclaims = new AtomicLong();
    private final AtomicLong collapses = new AtomicLong();
    private final AtomicLong remaps = new AtomicLong();

    RcuStress(Kernel k) {
        this.k = k;
        this.pt = k.pageTables();
        this.mem = pt.memory();
        this.geo = pt.geometry();
        this.fmt = pt.format();
    }

    /** Runs {@code totalOps} operations on {@code threads} CPUs; the kernel is checked afterwards. */
    Result run(long seed, int threads, long totalOps) throws InterruptedException {
        Process p = k.newProcess("stress");
        for (int i = 0; i < S_FILES; i++) {
            p.mmap(S + i * 2 * MB, 2 * MB, 3, true);
        }
        p.mmap(A, A_LEN, 3, false);
        p.mmap(B, B_LEN, 3, false);
        p.touch(A, A_LEN, true);
        p.touch(S, S_FILES * 2 * MB, true);
        procs[0] = p;
        procs[1] = p.fork("stress-child");
        long before = pt.rcu().gracePeriods();
        long retriesBefore = pt.pteMaps().retries();
        long noTableBefore = pt.pteMaps().noTables();
        long deferredBefore = pt.deferredFrees();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        AtomicLong done = new AtomicLong();
        List<String> leftOpen = new java.util.concurrent.CopyOnWriteArrayList<>();
        List<Thread> ts = new ArrayList<>();
        long per = totalOps / threads;
        for (int t = 0; t < threads; t++) {
            SimCpu cpu = new SimCpu(t);
            SplittableRandom rnd = new SplittableRandom(seed * 31 + t);
            Thread th = new Thread(() -> {
                cpu.bindCurrentThread();
                try {
                    for (long i = 0; i < per && failure.get() == null; i++) {
                        op(rnd);
                        done.incrementAndGet();
                    }
                } catch (Throwable e) {
                    failure.compareAndSet(null, e);
                } finally {
                    // do_exit: a CPU thread that died inside an RCU section (or atomic) must not
                    // stall every later grace period; what it left is part of the evidence.
                    String left = RcuReaders.exitTask();
                    if (left != null) {
                        leftOpen.add(th(cpu) + ": " + left);
                    }
                }
            }, "cpu" + t);
            ts.add(th);
            th.start();
        }
        for (Thread th : ts) {
            th.join();
        }
        List<Violation> v = failure.get() == null ? Checker.checkDrained(pt) : pt.log().snapshot();
        return new Result(done.get(), faults.get(), walks.get(), rwWrites.get(), reclaims.get(), collapses.get(), remaps.get(),
                pt.rcu().gracePeriods() - before, pt.deferredFrees() - deferredBefore, pt.pteMaps().retries() - retriesBefore,
                rwRetries.get(), pt.pteMaps().noTables() - noTableBefore, v, failure.get(), List.copyOf(leftOpen));
    }

    private static String th(SimCpu cpu) {
        return cpu.toString();
    }

    /** Tears both processes down (after a run), so the machine's checker sees an empty system. */
    void exitAll() {
        for (Process p : procs) {
            if (p != null && !p.exited()) {
                p.exit();
            }
        }
        pt.rcuBarrier();
    }

    private void op(SplittableRandom rnd) {
        Process p = procs[rnd.nextInt(2)];
        int dice = rnd.nextInt(1000);
        long page = geo.pageSize();
        if (dice < 330) {
            long va = rnd.nextBoolean() ? A + rnd.nextLong(A_LEN / page) * page : S + rnd.nextLong(S_FILES * 2 * MB / page) * page;
            if (rnd.nextInt(8) == 0) {
                va = B + rnd.nextLong(B_LEN / page) * page;
            }
            p.touch(va, page, rnd.nextBoolean());
            faults.incrementAndGet();
        } else if (dice < 780) {
            long base = switch (rnd.nextInt(3)) {
                case 0 -> A + rnd.nextLong(A_LEN / page) * page;
                case 1 -> S + rnd.nextLong(S_FILES * 2 * MB / page) * page;
                default -> B + rnd.nextLong(B_LEN / page) * page;
            };
            locklessWalk(p, base, rnd.nextInt(16) == 0 ? geo.entries(Level.PTE) : 8, rnd.nextBoolean());
            walks.incrementAndGet();
        } else if (dice < 930) {
            rwNolockMkold(p, A + rnd.nextLong(A_LEN / page) * page);
        } else if (dice < 985) {
            long chunk = rnd.nextBoolean() ? A + rnd.nextLong(A_LEN / (2 * MB)) * 2 * MB : S + rnd.nextInt(S_FILES) * 2 * MB;
            p.madvise(chunk, 2 * MB, Advice.DONTNEED);
            reclaims.incrementAndGet();
        } else if (dice < Integer.getInteger("ptlab.rcu.stress.collapse", 994)) {
            p.madvise(S + rnd.nextInt(S_FILES) * 2 * MB, 2 * MB, Advice.COLLAPSE);
            collapses.incrementAndGet();
        } else {
            if (!SHMEM_REMAP || rnd.nextBoolean()) {
                p.munmap(B, B_LEN);
                p.mmap(B, B_LEN, 3, false);
                p.touch(B, 64 * page, true);
            } else {
                long s = S + rnd.nextInt(S_FILES) * 2 * MB;
                p.munmap(s, 2 * MB);
                p.mmap(s, 2 * MB, 3, true);
                p.touch(s, 2 * MB, rnd.nextBoolean());
            }
            remaps.incrementAndGet();
        }
    }

    /**
     * A GUP-fast-like walk without mmap_lock: one RCU section from the PGD down, every word read
     * with the use-after-free check, the PTE table through pte_offset_map or ro_nolock.
     */
    private void locklessWalk(Process p, long va, int n, boolean ro) {
        Mm mm = p.mm();
        RcuReaders.readLock();
        try {
            PageDesc t = mm.pgd();
            Level pmdLevel = pt.pteMaps().pmdLevel();
            for (Level l : geo.levels()) {
                if (l == pmdLevel) {
                    int idx = geo.index(l, va);
                    PteMapping m = ro ? pt.pteMaps().mapRoNolock(mm, t, idx) : pt.pteMaps().map(mm, t, idx);
                    if (m instanceof PteMapping.Mapped) {
                        try (PteMapping.Mapped mp = (PteMapping.Mapped) m) {
                            int from = geo.index(Level.PTE, va);
                            for (int i = 0; i < n; i++) {
                                mp.read((from + i) % geo.entries(Level.PTE));
                            }
                        }
                    }
                    return;
                }
                long e = mem.readWord(t, geo.index(l, va), "gup_fast on " + SimCpu.current());
                if (!fmt.isTable(l, e)) {
                    return;
                }
                t = pt.child(l, e);
            }
        } finally {
            RcuReaders.readUnlock();
        }
    }

    /** A lockless PTE writer: rw_nolock, then lock + pmd_same recheck, then clear the young bit. */
    private void rwNolockMkold(Process p, long va) {
        Mm mm = p.mm();
        PageDesc pmdTable = new Installer(pt).lookup(mm, va, pt.pteMaps().pmdLevel());
        if (pmdTable == null) {
            return;
        }
        PteMapping m = pt.pteMaps().mapRwNolock(mm, pmdTable, geo.index(pt.pteMaps().pmdLevel(), va));
        if (!(m instanceof PteMapping.Mapped)) {
            return;
        }
        try (PteMapping.Mapped mp = (PteMapping.Mapped) m) {
            int idx = geo.index(Level.PTE, va);
            if (!fmt.isPresent(mp.read(idx))) {
                return;
            }
            if (!mp.lockAndRecheck()) {
                rwRetries.incrementAndGet();
                return;
            }
            long e = mp.read(idx);
            if (fmt.isPresent(e)) {
                mp.write(idx, fmt.mkOld(e));
                rwWrites.incrementAndGet();
            }
        }
    }
}
