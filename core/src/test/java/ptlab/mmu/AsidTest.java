package ptlab.mmu;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import ptlab.arch.Architecture;
import ptlab.arch.Architectures;
import ptlab.arch.Geometry;
import ptlab.arch.Level;
import ptlab.check.CheckedKernels;
import ptlab.cpu.SimCpu;
import ptlab.mm.Errno;
import ptlab.mm.Kernel;
import ptlab.mm.Process;
import ptlab.pgtable.KernelConfig;
import ptlab.pgtable.Mm;
import ptlab.pgtable.MmKind;
import ptlab.pgtable.PageTables;
import ptlab.phys.PageDesc;

/**
 * TLB keys and ASIDs: a key is the whole page number plus a 12-bit ASID, so the TLB hit path
 * needs no canonical check of its own; the ASIDs of dead mms are reused once the 12-bit
 * space runs out (after a flush of the reused ASID on every CPU), and with none dead the space rolls over.
 */
class AsidTest {
    @RegisterExtension
    final CheckedKernels checked = new CheckedKernels();

    private static final long BASE = 0x4000_0000L;

    /**
     * A cached translation of a user page must not serve any non-canonical alias of it (the
     * same low bits, anything else above the VA width): each faults NOT_CANONICAL (or, the
     * upper half on arm64 and RISC-V, is a kernel address with no mapping), and the canonical
     * address still hits.
     */
    @ParameterizedTest
    @MethodSource("ptlab.mmu.MmuFixture#architectures")
    void nonCanonicalAliasesOfACachedPageFault(String name) {
        Architecture a = Architectures.byName(name);
        Kernel k = checked.kernel(KernelConfig.of(a).withRam(1L << 30));
        Process p = k.newProcess("p");
        assertThat(p.mmap(BASE, 1L << 16, 3, false)).isEqualTo(Errno.OK);
        assertThat(p.touch(BASE, 1L << 16, true)).isEqualTo(Errno.OK);
        CpuMmu cpu = k.mmu().attach(new SimCpu(0));
        cpu.switchMm(p.mm());
        long va = BASE + 0x48;
        long pa = cpu.translatePa(va, AccessKind.READ, Privilege.USER);
        assertThat(Translation.isFault(pa)).isFalse();
        int vaBits = a.geometry().vaBits();
        long[] aliases = {va | 1L << vaBits, va | 1L << 63, va | 1L << 62, va | -(1L << vaBits), va ^ 1L << (vaBits + 3)};
        for (long alias : aliases) {
            long misses = cpu.misses();
            long w = cpu.translatePa(alias, AccessKind.READ, Privilege.USER);
            assertThat(Translation.isFault(w)).as("%s: alias 0x%x of cached 0x%x", name, alias, va).isTrue();
            if (!a.isCanonical(alias)) { // split roots: all ones above the VA width is the kernel half, unmapped here
                assertThat(Translation.faultOf(w).toString()).contains("NOT_CANONICAL");
            }
            assertThat(cpu.misses()).as("the alias went to the slow path").isEqualTo(misses + 1);
        }
        long misses = cpu.misses();
        assertThat(cpu.translatePa(va, AccessKind.READ, Privilege.USER)).isEqualTo(pa);
        assertThat(cpu.misses()).as("the canonical address still hits").isEqualTo(misses);
        cpu.leave();
    }

    /**
     * Many more processes than ASIDs, one after another on two CPUs: each gets an ASID (dead
     * mms' ASIDs are reused), every translation gives the process's own page, and the audit
     * finds no stale entry after every exit.
     */
    @Test
    void deadMmsAsidsAreReusedAndNoTranslationCrossesMms() throws Exception {
        try (TwoCpus m = new TwoCpus()) {
            Kernel k = m.k;
            int n = CpuMmu.MAX_ASID + 600;
            List<Integer> asids = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                Process p = k.newProcess("p" + i);
                assertThat(p.mmap(BASE, 4096, 3, false)).isEqualTo(Errno.OK);
                assertThat(p.touch(BASE, 4096, true)).isEqualTo(Errno.OK);
                long own = paInTables(k, p.mm());
                long pa = i % 2 == 0 ? translate(m.cpu0, p.mm()) : m.on1(() -> translate(m.cpu1, p.mm()));
                assertThat(pa).as("process %d", i).isEqualTo(own);
                asids.add(k.mmu().context(p.mm()).asid);
                if (i % 2 == 1) {
                    m.on1(() -> m.cpu1.leave());
                } else {
                    m.cpu0.leave();
                }
                p.exit();
                assertThat(k.mmu().audit()).isEmpty();
            }
            assertThat(asids).allMatch(x -> x >= 1 && x <= CpuMmu.MAX_ASID);
            assertThat(asids.subList(CpuMmu.MAX_ASID, n)).as("ASIDs after the space ran out are reused ones")
                    .allMatch(x -> asids.subList(0, CpuMmu.MAX_ASID).contains(x));
        }
    }

    /**
     * The reuse flush: a CPU that ran a dead mm and went offline before its ASID is reused
     * gets a flush of that ASID queued, so it drops the dead mm's entries before its next
     * translation or switch_mm, even with the missing-flush fault injection armed.
     */
    @Test
    void aReusedAsidIsFlushedFromEveryCpuFirst() throws Exception {
        try (TwoCpus m = new TwoCpus()) {
            Mm dead = m.k.pageTables().newMm("dead", MmKind.USER);
            Mm other = m.k.pageTables().newMm("other", MmKind.USER);
            m.on1(() -> {
                m.cpu1.switchMm(dead);
                m.cpu1.switchMm(other); // dead is no longer current anywhere
                m.cpu1.leave();
            });
            int deadAsid = m.k.mmu().context(dead).asid;
            m.k.pageTables().destroyMm(dead);
            m.k.mmu().dropNextFlushes(1); // the fault injection drops operations' flushes, not this one
            m.heirOf(deadAsid);
            m.k.mmu().dropNextFlushes(0);
            assertThat(m.cpu1.queuedFlushDrops(BASE, BASE + 4095, deadAsid)).as("a flush of the reused ASID is queued on cpu1").isTrue();
            assertThat(m.cpu1.queuedFlushDrops(BASE, BASE + 4095, m.k.mmu().context(other).asid)).isFalse();
            m.on1(() -> m.cpu1.poll());
            assertThat(m.cpu1.queuedFlushDrops(BASE, BASE + 4095, deadAsid)).as("cpu1 applied it").isFalse();
        }
    }

    /**
     * An online CPU that still caches a dead mm's page, with the exit's flush queued and not
     * applied yet, when the dead mm's ASID goes to a new mm: the audit must not judge that
     * entry against the new mm's tables (the queued flush drops it before the CPU translates
     * again), and the CPU, once it runs the new mm, faults where the dead mm had its page.
     */
    @Test
    void anEntryAQueuedFlushDropsIsNotJudgedAgainstTheAsidsNewMm() throws Exception {
        try (TwoCpus m = new TwoCpus()) {
            Kernel k = m.k;
            Process dead = k.newProcess("dead");
            assertThat(dead.mmap(BASE, 4096, 3, false)).isEqualTo(Errno.OK);
            assertThat(dead.touch(BASE, 4096, true)).isEqualTo(Errno.OK);
            Mm other = k.pageTables().newMm("other", MmKind.USER);
            m.on1(() -> {
                assertThat(Translation.isFault(translate(m.cpu1, dead.mm()))).isFalse();
                m.cpu1.switchMm(other); // online on another ASID: the exit's flush will be queued, not waited for
            });
            int deadAsid = k.mmu().context(dead.mm()).asid;
            dead.exit();
            assertThat(m.cpu1.queuedFlushDrops(BASE, BASE + 4095, deadAsid)).as("the exit's flush is queued on cpu1").isTrue();
            Mm heir = m.heirOf(deadAsid);
            assertThat(k.mmu().audit()).isEmpty();
            assertThat(m.on1(() -> {
                long w = translate(m.cpu1, heir);
                m.cpu1.leave();
                return w;
            })).matches(Translation::isFault, "a fault: the heir maps nothing");
        }
    }

    /**
     * A global entry (x86 G bit, written by hand on a user page of mm a) hits for every ASID
     * without a walk, but not while a flush is pending on the CPU: the poisoned tag gates the
     * global compare too, so the queued flush_tlb_all is applied first.
     */
    @Test
    void aGlobalEntryHitsEveryAsidButNotWhileAFlushIsPending() {
        Kernel k = checked.kernel(KernelConfig.defaults().withRam(1L << 30));
        Mm a = k.pageTables().newMm("a", MmKind.USER);
        Mm b = k.pageTables().newMm("b", MmKind.USER);
        Geometry g = k.pageTables().geometry();
        Level leaf = g.levels().get(g.levels().size() - 1);
        PageDesc t = k.walker().installer().walkAlloc(a, BASE, leaf, null);
        PageTables.write(t, g.index(leaf, BASE), 0x5000L | 0x167); // present, writable, user, accessed, dirty, global
        CpuMmu cpu = k.mmu().attach(new SimCpu(0));
        cpu.switchMm(a);
        assertThat(cpu.translatePa(BASE + 8, AccessKind.READ, Privilege.USER)).isEqualTo(0x5008L);
        cpu.switchMm(b);
        long misses = cpu.misses();
        assertThat(cpu.translatePa(BASE + 8, AccessKind.READ, Privilege.USER)).isEqualTo(0x5008L);
        assertThat(cpu.misses()).as("the global entry hit under b's ASID").isEqualTo(misses);
        cpu.post(new FlushRequest(FlushRequest.Kind.ALL, FlushRequest.ANY_ASID, 0, 0));
        long w = cpu.translatePa(BASE + 8, AccessKind.READ, Privilege.USER);
        assertThat(cpu.misses()).as("no hit while the flush waits").isEqualTo(misses + 1);
        assertThat(Translation.isFault(w)).as("the flush applied, b's tables map nothing there").isTrue();
        cpu.leave();
        PageTables.write(t, g.index(leaf, BASE), 0); // the hand-written leaf maps no allocated page: gone before the checker runs
    }

    /**
     * With every ASID held by a live mm, a new context rolls over (arm64 {@code new_context}):
     * the mm the CPU runs keeps its ASID and its cached entries stay correct, the others get
     * new ASIDs at their next switch, and no translation serves another mm's page.
     */
    @Test
    void aFullAsidSpaceRollsOverAndKeepsTheRunningMmsAsid() {
        Kernel k = checked.kernel(KernelConfig.defaults().withRam(1L << 30));
        CpuMmu cpu = k.mmu().attach(new SimCpu(0));
        List<Process> ps = new ArrayList<>();
        int n = CpuMmu.MAX_ASID + 5;
        for (int i = 0; i < n; i++) {
            Process p = k.newProcess("p" + i);
            assertThat(p.mmap(BASE, 4096, 3, false)).isEqualTo(Errno.OK);
            assertThat(p.touch(BASE, 4096, true)).isEqualTo(Errno.OK);
            ps.add(p);
        }
        Process running = ps.get(0);
        assertThat(translate(cpu, running.mm())).isEqualTo(paInTables(k, running.mm()));
        int runningAsid = k.mmu().context(running.mm()).asid;
        for (int i = 1; i < n; i++) {
            Process p = ps.get(i);
            assertThat(translate(cpu, p.mm())).as("process %d", i).isEqualTo(paInTables(k, p.mm()));
        }
        assertThat(k.mmu().asidRollovers()).isPositive();
        for (int i = 0; i < n; i += 97) {
            Process p = ps.get(i);
            assertThat(translate(cpu, p.mm())).as("process %d again", i).isEqualTo(paInTables(k, p.mm()));
        }
        assertThat(k.mmu().audit()).isEmpty();
        cpu.leave();
        assertThat(runningAsid).isPositive();
        for (Process p : ps) {
            p.exit();
        }
    }

    /** A CPU's current mm is reserved across a rollover: its ASID is not handed to the new mm. */
    @Test
    void theCurrentMmsAsidIsReservedAcrossARollover() throws Exception {
        try (TwoCpus m = new TwoCpus()) {
            m.k.mmu().setAsidLimit(3);
            Mm held = m.k.pageTables().newMm("held", MmKind.USER);
            m.on1(() -> {
                m.cpu1.switchMm(held);
                m.cpu1.leave(); // lazily still on it: reserved all the same
            });
            int heldAsid = m.k.mmu().context(held).asid;
            for (int i = 0; i < 10; i++) {
                Mm x = m.k.pageTables().newMm("x" + i, MmKind.USER);
                m.cpu0.switchMm(x);
                assertThat(m.k.mmu().context(x).asid).as("mm %d", i).isNotEqualTo(heldAsid).isBetween(1, 3);
            }
            assertThat(m.k.mmu().asidRollovers()).isPositive();
            assertThat(m.k.mmu().context(held).asid).isEqualTo(heldAsid);
            m.cpu0.leave();
        }
    }
    /**
     * Rollovers under load: three CPUs on their own threads switch among ten live processes
     * with only four ASIDs (a rollover every few switches), while the test's thread write-
     * protects and unprotects their pages (range flushes racing the rollovers). Every read
     * must give the process's own page, never another's through a reused ASID; at the end the
     * audit finds no stale entry. A stress test: it may miss a regression, never invent one.
     */
    @Test
    void rolloversRacingSwitchesAndFlushesNeverCrossMms() throws Exception {
        Kernel k = checked.kernel(KernelConfig.defaults().withRam(1L << 30));
        k.mmu().setAsidLimit(4);
        List<Process> ps = new ArrayList<>();
        List<Long> own = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            Process p = k.newProcess("p" + i);
            assertThat(p.mmap(BASE, 4096, 3, false)).isEqualTo(Errno.OK);
            assertThat(p.touch(BASE, 4096, true)).isEqualTo(Errno.OK);
            ps.add(p);
            own.add(paInTables(k, p.mm()));
        }
        java.util.concurrent.atomic.AtomicBoolean stop = new java.util.concurrent.atomic.AtomicBoolean();
        java.util.concurrent.atomic.AtomicReference<String> wrong = new java.util.concurrent.atomic.AtomicReference<>();
        List<Thread> threads = new ArrayList<>();
        List<CpuMmu> cpus = new java.util.concurrent.CopyOnWriteArrayList<>();
        // The flushes start once every CPU runs: on a loaded machine a thread may start after
        // 3000 mprotects with no CPU online to wait for (25 ms once the JIT is warm) are done.
        java.util.concurrent.CountDownLatch running = new java.util.concurrent.CountDownLatch(3);
        for (int c = 0; c < 3; c++) {
            SimCpu sc = new SimCpu(c);
            long seed = c;
            Thread t = new Thread(() -> {
                sc.bindCurrentThread();
                CpuMmu cpu = k.mmu().attach(sc, 4, 4);
                cpus.add(cpu);
                java.util.SplittableRandom r = new java.util.SplittableRandom(seed);
                try {
                    while (!stop.get() && wrong.get() == null) {
                        int i = r.nextInt(ps.size());
                        cpu.switchMm(ps.get(i).mm());
                        for (int j = 0; j < 4; j++) {
                            long w = cpu.translatePa(BASE + 8, AccessKind.READ, Privilege.USER);
                            if (w != own.get(i) + 8) {
                                wrong.compareAndSet(null, cpu + " read p" + i + " at " + Long.toHexString(w) + ", its page is "
                                        + Long.toHexString(own.get(i)));
                            }
                        }
                        running.countDown();
                        if (r.nextInt(4) == 0) {
                            cpu.leave();
                        }
                    }
                } finally {
                    running.countDown();
                    cpu.leave();
                }
            }, "asid-cpu" + c);
            threads.add(t);
            t.start();
        }
        assertThat(running.await(60, java.util.concurrent.TimeUnit.SECONDS)).as("every CPU runs").isTrue();
        java.util.SplittableRandom r = new java.util.SplittableRandom(99);
        for (int n = 0; n < 3000 && wrong.get() == null; n++) {
            Process p = ps.get(r.nextInt(ps.size()));
            assertThat(p.mprotect(BASE, 4096, n % 2 == 0 ? 1 : 3)).isEqualTo(Errno.OK);
        }
        stop.set(true);
        for (Thread t : threads) {
            t.join();
        }
        assertThat(wrong.get()).isNull();
        assertThat(k.mmu().asidRollovers()).as("rollovers happened").isGreaterThan(10);
        assertThat(k.mmu().audit()).isEmpty();
        for (Process p : ps) {
            p.exit();
        }
    }

    /** The pa the tables of {@code mm} map at BASE, read from its PTE (not through any TLB). */
    private static long paInTables(Kernel k, Mm mm) {
        Geometry g = k.pageTables().geometry();
        Level leaf = g.levels().get(g.levels().size() - 1);
        PageDesc t = k.walker().installer().walkAlloc(mm, BASE, leaf, null);
        return k.pageTables().arch().format().outputAddress(leaf, PageTables.read(t, g.index(leaf, BASE)));
    }

    private static long translate(CpuMmu cpu, Mm mm) {
        cpu.switchMm(mm);
        long w = cpu.translatePa(BASE + 8, AccessKind.WRITE, Privilege.USER);
        return Translation.isFault(w) ? w : w - 8;
    }

    /** A machine with cpu0 on the test's thread and cpu1 on a thread of its own. */
    private final class TwoCpus implements AutoCloseable {
        final Kernel k = checked.kernel(KernelConfig.defaults().withRam(1L << 30));
        final CpuMmu cpu0 = k.mmu().attach(new SimCpu(0));
        private final ExecutorService t1 = Executors.newSingleThreadExecutor();
        final CpuMmu cpu1;

        TwoCpus() throws Exception {
            SimCpu sc1 = new SimCpu(1);
            cpu1 = on1(() -> {
                sc1.bindCurrentThread();
                return k.mmu().attach(sc1);
            });
        }

        /** Runs {@code body} on cpu1's thread and returns its result. */
        <T> T on1(Callable<T> body) throws Exception {
            Future<T> f = t1.submit(body);
            return f.get();
        }

        void on1(Runnable body) throws Exception {
            on1(() -> {
                body.run();
                return null;
            });
        }

        /** New mms, each switched to on cpu0, until one gets {@code asid} (the space ran out and it was reused); cpu0 then leaves. */
        Mm heirOf(int asid) {
            for (int i = 0; i < CpuMmu.MAX_ASID; i++) {
                Mm m = k.pageTables().newMm("m" + i, MmKind.USER);
                cpu0.switchMm(m);
                if (k.mmu().context(m).asid == asid) {
                    cpu0.leave();
                    return m;
                }
            }
            throw new AssertionError("no new mm got ASID " + asid);
        }

        @Override
        public void close() {
            t1.shutdownNow();
        }
    }
}
