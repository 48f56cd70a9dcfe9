package ptlab.sim;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import ptlab.arch.Level;
import ptlab.cpu.SimCpu;
import ptlab.mm.Kernel;
import ptlab.mm.Process;
import ptlab.mm.Vma;
import ptlab.mmu.AccessKind;
import ptlab.mmu.CpuMmu;
import ptlab.mmu.Privilege;
import ptlab.pgtable.PageTables;
import ptlab.pgtable.PteMapping;
import ptlab.phys.PageDesc;
import ptlab.rcu.RcuReaders;

/**
 * Lockless page-table readers running beside the scenario, as GUP-fast, /proc walkers and
 * khugepaged's scans do: each is a CPU thread that picks a live process and an address in one
 * of its VMAs, walks to the PMD inside an RCU read section and reads the PTE table through
 * {@code pte_offset_map} (which may find no table: counted as a retry). A read of a freed table
 * is reported by the memory model as a use-after-free naming the reader, and the checker
 * collects it. Each walker is also a user CPU with its own TLB: it switches to the process's mm
 * and translates the address through the software MMU, so flushes elsewhere must shoot its TLB
 * down, and the stale-TLB audit has entries to check.
 */
/*
 * Implementation notes. The read section is long on purpose: a walker reads 16 PTEs, is
 * preempted (parked) while it still holds the table, then reads them again, so that it is
 * inside a read section with a table in hand about half of the time. Before (2026-11-22) it
 * read 16 PTEs in about a microsecond and then slept 20 us or more outside the section: with
 * pte_free_defer and tlb_remove_table freeing at once (no RCU), a scenario of 300 PT reclaims
 * under 8 walkers (about 600 tables freed, 449k walks) reported nothing, and only the
 * dedicated RcuStressTest caught it. The parked reader also makes grace periods wait for a
 * preempted reader, as PREEMPT_RCU's do. SimulationRcuTest is the negative control.
 *
 * A walker holds the process list's read lock for one walk; exit and
 * fork steps swap the list under the write lock, so a walker never starts on an mm that is
 * being torn down (the kernel's walkers hold an mm reference: mmget_not_zero). Upper tables may
 * be freed concurrently by free_pgtables or PT reclaim: those frees go through RCU, so the
 * read section keeps them valid.
 */
final class Walkers {
    /** How long a walker stays preempted inside its read section, holding the PTE table it maps. */
    static final long PREEMPTED_NANOS = 20_000;
    private final Kernel kernel;
    private final PageTables pt;
    private final long seed;
    private final ReentrantReadWriteLock listLock = new ReentrantReadWriteLock();
    private volatile List<Process> live = List.of();
    private final List<Thread> threads = new ArrayList<>();
    private AtomicBoolean running = new AtomicBoolean();
    private final LongAdder walks = new LongAdder();
    private final LongAdder noTable = new LongAdder();
    private final LongAdder ptesRead = new LongAdder();
    private final LongAdder translations = new LongAdder();
    private final LongAdder mmuFaults = new LongAdder();

    Walkers(Kernel kernel, long seed) {
        this.kernel = kernel;
        this.pt = kernel.pageTables();
        this.seed = seed;
    }

    /** Runs exactly {@code n} walkers from now on (0 stops them all). */
    void set(int n, Map<String, Process> procs) {
        stop();
        processesChanged(procs);
        running = new AtomicBoolean(true);
        AtomicBoolean flag = running;
        for (int i = 0; i < n; i++) {
            SimCpu cpu = new SimCpu(200 + i);
            long s = seed * 31 + i;
            Thread t = new Thread(() -> {
                cpu.bindCurrentThread();
                CpuMmu mmu = kernel.mmu().attach(cpu);
                try {
                    loop(flag, new SplittableRandom(s), mmu);
                } finally {
                    mmu.leave();
                }
            }, "walker" + i);
            t.setDaemon(true);
            threads.add(t);
            t.start();
        }
    }

    void stop() {
        running.set(false);
        for (Thread t : threads) {
            try {
                t.join();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted", e);
            }
        }
        threads.clear();
    }

    /** The set of processes changed (new, forked, exiting): waits for walks in flight, like mmput waits for users. */
    void processesChanged(Map<String, Process> procs) {
        listLock.writeLock().lock();
        try {
            live = List.copyOf(procs.values());
        } finally {
            listLock.writeLock().unlock();
        }
    }

    private void loop(AtomicBoolean flag, SplittableRandom r, CpuMmu mmu) {
        while (flag.get()) {
            listLock.readLock().lock();
            try {
                List<Process> ps = live;
                if (!ps.isEmpty()) {
                    walkOnce(ps.get(r.nextInt(ps.size())), r, mmu);
                }
            } finally {
                listLock.readLock().unlock();
            }
            // A walk every ~20 µs per walker: enough to race every table change of the scenario,
            // without taking the CPUs the scenario's own threads need (the machine may have 2).
            java.util.concurrent.locks.LockSupport.parkNanos(20_000);
        }
    }

    private void walkOnce(Process p, SplittableRandom r, CpuMmu mmu) {
        List<Vma> vmas = p.vmasSnapshot(); // may sleep: the CPU is offline (left) here
        if (vmas.isEmpty()) {
            return;
        }
        Vma v = vmas.get(r.nextInt(vmas.size()));
        long page = pt.geometry().pageSize();
        long pages = (v.end() - v.start()) / page;
        long va = v.start() + page * r.nextLong(Math.max(1, pages));
        Level pmdLevel = pt.geometry().holder(Level.PMD);
        if (pmdLevel == Level.PTE) {
            return;
        }
        walks.increment();
        RcuReaders.readLock();
        try {
            PageDesc pmdTable = kernel.installer().lookup(p.mm(), va, pmdLevel);
            if (pmdTable == null) {
                noTable.increment();
                return;
            }
            PteMapping m = pt.pteMaps().map(p.mm(), pmdTable, pt.geometry().index(pmdLevel, va));
            if (!(m instanceof PteMapping.Mapped)) {
                noTable.increment();
                return;
            }
            try (PteMapping.Mapped t = (PteMapping.Mapped) m) {
                int idx = pt.geometry().index(Level.PTE, va);
                int end = Math.min(pt.geometry().entries(Level.PTE), idx + 16);
                for (int i = idx; i < end; i++) {
                    t.read(i);
                }
                // Preempted inside the read section (PREEMPT_RCU allows it), then on with the
                // walk of the same table, as GUP-fast over a longer range: see the notes.
                java.util.concurrent.locks.LockSupport.parkNanos(PREEMPTED_NANOS);
                for (int i = idx; i < end; i++) {
                    t.read(i);
                }
                ptesRead.add(2L * (end - idx));
            }
        } finally {
            RcuReaders.readUnlock();
        }
        // As user code on this CPU: switch_mm, a few translations (TLB fills, A/D updates), then
        // go idle before the next sleeping lock so flushers never wait for a blocked CPU.
        mmu.switchMm(p.mm());
        try {
            for (int i = 0; i < 8; i++) {
                long x = va + (long) i * page;
                if (Long.compareUnsigned(x, v.end()) < 0) {
                    long pa = mmu.translatePa(x, AccessKind.READ, Privilege.USER);
                    translations.increment();
                    if (pa < 0) {
                        mmuFaults.increment();
                    }
                }
            }
        } finally {
            mmu.leave();
        }
    }

    boolean running() {
        return !threads.isEmpty();
    }

    /**
     * Runs {@code body} while no walker is inside a walk (they hold the list's read lock for a
     * walk): the occupancy count reads tables with plain loads and must not race the walkers'
     * RCU sections, which keep no table alive for it.
     */
    <T> T quiesced(java.util.function.Supplier<T> body) {
        listLock.writeLock().lock();
        try {
            return body.get();
        } finally {
            listLock.writeLock().unlock();
        }
    }

    long walks() {
        return walks.sum();
    }

    long retries() {
        return noTable.sum();
    }

    long gracePeriods() {
        return pt.rcu().gracePeriods();
    }

    long translations() {
        return translations.sum();
    }

    long ptesRead() {
        return ptesRead.sum();
    }
}
