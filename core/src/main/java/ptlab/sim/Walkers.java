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
 * collects it.
 */
/*
 * Implementation notes. A walker holds the process list's read lock for one walk; exit and
 * fork steps swap the list under the write lock, so a walker never starts on an mm that is
 * being torn down (the kernel's walkers hold an mm reference: mmget_not_zero). Upper tables may
 * be freed concurrently by free_pgtables or PT reclaim: those frees go through RCU, so the
 * read section keeps them valid.
 */
final class Walkers {
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
                loop(flag, new SplittableRandom(s));
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

    private void loop(AtomicBoolean flag, SplittableRandom r) {
        while (flag.get()) {
            listLock.readLock().lock();
            try {
                List<Process> ps = live;
                if (!ps.isEmpty()) {
                    walkOnce(ps.get(r.nextInt(ps.size())), r);
                }
            } finally {
                listLock.readLock().unlock();
            }
            Thread.onSpinWait();
        }
    }

    private void walkOnce(Process p, SplittableRandom r) {
        List<Vma> vmas = p.vmasSnapshot();
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
                ptesRead.add(end - idx);
            }
        } finally {
            RcuReaders.readUnlock();
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

    long ptesRead() {
        return ptesRead.sum();
    }
}
