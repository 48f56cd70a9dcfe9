package ptlab.pgtable;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.AbstractQueuedSynchronizer;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import ptlab.arch.Architecture;
import ptlab.arch.Architectures;
import ptlab.arch.Geometry;
import ptlab.arch.Level;
import ptlab.arch.PageProt;
import ptlab.check.CheckedKernels;
import ptlab.check.Checker;
import ptlab.cpu.LockProtocolError;
import ptlab.cpu.SimCpu;
import ptlab.cpu.SpinLock;
import ptlab.cpu.Violation;
import ptlab.phys.OutOfMemoryException;
import ptlab.phys.PageDesc;
import ptlab.range.PageRanges;
import ptlab.range.RangeFixture;

/**
 * Issue 3's acceptance, on every architecture with the checker: ctor/dtor balance per level for
 * user, kernel and special mms, ptlock placement, seed 000's dynamic-ptlock numbers, accounting
 * after every operation, the install race, and kernel-half sync.
 */
class PageTableCoreTest {
    @RegisterExtension
    final CheckedKernels kernels = new CheckedKernels();

    static List<String> archs() {
        return new ArrayList<>(Architectures.names());
    }

    /** The architectures whose PMD tables have split locks and whose PMD entries may be leaves. */
    static List<String> archsWithSplitPmdLocks() {
        List<String> out = new ArrayList<>();
        for (String a : Architectures.names()) {
            KernelConfig c = KernelConfig.of(Architectures.byName(a));
            if (c.pmdTablesHavePtlock() && c.arch().geometry().leafAllowed(c.arch().geometry().holder(Level.PMD))) {
                out.add(a);
            }
        }
        return out;
    }

    private PageTables tables(KernelConfig c) {
        return kernels.kernel(c).pageTables();
    }

    /** Every table reachable from {@code mm}'s root that belongs to it (not the shared kernel half). */
    static List<PageDesc> tablesOf(PageTables pt, Mm mm) {
        List<PageDesc> out = new ArrayList<>();
        collect(pt, mm, mm.pgd(), 0, out);
        return out;
    }

    private static void collect(PageTables pt, Mm mm, PageDesc t, int li, List<PageDesc> out) {
        out.add(t);
        Geometry g = pt.geometry();
        Level l = g.levels().get(li);
        if (l == Level.PTE) {
            return;
        }
        int n = pt.ownedEntries(mm, l);
        for (int i = 0; i < n; i++) {
            long e = PageTables.read(t, i);
            if (pt.format().isTable(l, e)) {
                collect(pt, mm, pt.child(l, e), li + 1, out);
            }
        }
    }

    /** Maps one page in each of {@code spans} consecutive top-level entries below the root: tables at every level. */
    private static void populate(PageRanges r, Mm mm, long va, int spans, PageProt prot) {
        Geometry g = r.pageTables().geometry();
        long step = g.entrySize(g.levels().get(1));
        for (int i = 0; i < spans; i++) {
            r.map(mm, va + i * step, 0x100000L * g.pageSize(), g.pageSize(), g.pageSize(), prot);
        }
    }

    @ParameterizedTest
    @MethodSource("archs")
    void ctorDtorBalanceAndPtlocksForUserKernelAndSpecialMms(String arch) {
        KernelConfig c = KernelConfig.of(Architectures.byName(arch));
        PageTables pt = tables(c);
        Architecture a = pt.arch();
        PageRanges r = new PageRanges(pt);
        Mm user = pt.newMm("user", MmKind.USER);
        Mm efi = pt.newMm("efi", MmKind.SPECIAL);
        populate(r, user, RangeFixture.userVa(a), 3, PageProt.USER_RW);
        populate(r, efi, RangeFixture.userVa(a), 3, PageProt.KERNEL_RW);
        populate(r, pt.initMm(), RangeFixture.kernelVa(a), 3, PageProt.KERNEL_RW);
        assertThat(Checker.check(pt)).isEmpty();
        Geometry g = pt.geometry();
        for (Level l : g.levels()) {
            assertThat(pt.stats().ctorCalls(l) - pt.stats().dtorCalls(l)).as("%s ctor-dtor balance", l).isEqualTo(pt.stats().liveTables(l));
        }
        boolean pmdLock = !g.isFolded(Level.PMD) && c.splitPmdPtlocks();
        for (PageDesc t : tablesOf(pt, user)) {
            boolean want = t.level == Level.PTE || (t.level == Level.PMD && pmdLock);
            assertThat(t.ptl != null).as("user %s table ptlock", t.level).isEqualTo(want);
            assertThat(t.pageTable).as("user %s table constructed", t.level).isTrue();
            assertThat(t.mm).isSameAs(user);
        }
        for (PageDesc t : tablesOf(pt, efi)) {
            boolean want = t.level == Level.PTE || (t.level == Level.PMD && pmdLock);
            assertThat(t.ptl != null).as("special (no mm) %s table ptlock", t.level).isEqualTo(want);
            assertThat(t.hasMm).as("the special allocator passes no mm").isFalse();
            assertThat(t.pageTable).isTrue();
        }
        for (PageDesc t : tablesOf(pt, pt.initMm())) {
            assertThat(t.ptl).as("init_mm %s table has no ptlock", t.level).isNull();
            if (t != pt.initMm().pgd()) {
                assertThat(t.pageTable).as("kernel %s table constructed (6.16: every level)", t.level).isTrue();
            }
        }
        long[] liveBefore = new long[5];
        for (Level l : g.levels()) {
            liveBefore[l.ordinal()] = pt.stats().liveTables(l);
        }
        int userTables = tablesOf(pt, user).size();
        int efiTables = tablesOf(pt, efi).size();
        r.teardown(user);
        r.teardown(efi);
        pt.rcuBarrier();
        long gone = 0;
        for (Level l : g.levels()) {
            gone += liveBefore[l.ordinal()] - pt.stats().liveTables(l);
            assertThat(pt.stats().ctorCalls(l) - pt.stats().dtorCalls(l)).isEqualTo(pt.stats().liveTables(l));
        }
        assertThat(gone).as("teardown destructs every table of both mms").isEqualTo(userTables + efiTables);
        assertThat(pt.stats().dynamicPtlockAllocs()).isEqualTo(pt.stats().dynamicPtlockFrees() + countDynamic(pt));
        assertThat(Checker.check(pt)).isEmpty();
    }

    private static long countDynamic(PageTables pt) {
        long n = 0;
        for (Mm mm : pt.mms()) {
            for (PageDesc t : tablesOf(pt, mm)) {
                n += t.ptl != null && t.ptlDynamic ? 1 : 0;
            }
        }
        return n;
    }

    /**
     * Seed 000: with ALLOC_SPLIT_PTLOCKS (dynamic ptlocks) and split PMD locks, kernels before
     * 6.16 ran the PMD ctor for init_mm's PMD tables and allocated a ptlock for each; 6.16 skips
     * init_mm, so "the removal of a kmem_cache allocation for every kernel PMD".
     */
    @ParameterizedTest
    @MethodSource("archs")
    void dynamicPtlocksForKernelPmdTablesDropAsSeed000Says(String arch) {
        long[] allocs = new long[2];
        long[] kernelPmds = new long[2];
        for (int v = 0; v < 2; v++) {
            boolean pre616 = v == 0;
            KernelConfig c = KernelConfig.of(Architectures.byName(arch)).withPtlocks(true, true, true).withPre616Ctors(pre616);
            PageTables pt = tables(c);
            PageRanges r = new PageRanges(pt);
            long before = pt.stats().dynamicPtlockAllocs();
            Geometry g = pt.geometry();
            long pmdSpan = g.entrySize(g.holder(Level.PUD));
            for (int i = 0; i < 32; i++) {
                long va = RangeFixture.kernelVa(pt.arch()) + i * pmdSpan;
                r.map(pt.initMm(), va, 0, g.pageSize(), g.pageSize(), PageProt.KERNEL_RW);
            }
            allocs[v] = pt.stats().dynamicPtlockAllocs() - before;
            kernelPmds[v] = tablesOf(pt, pt.initMm()).stream().filter(t -> t.level == Level.PMD).count();
            assertThat(Checker.check(pt)).isEmpty();
        }
        boolean pmdLevel = !Architectures.byName(arch).geometry().isFolded(Level.PMD);
        System.out.printf("seed000 %-13s kernel PMD tables %3d: dynamic ptlock allocations pre-6.16 %3d, 6.16 %3d%n",
                arch, kernelPmds[1], allocs[0], allocs[1]);
        assertThat(allocs[1]).as("6.16: no ptlock for init_mm tables").isZero();
        assertThat(allocs[0]).as("pre-6.16: one per kernel PMD table").isEqualTo(pmdLevel ? kernelPmds[0] : 0);
    }

    @ParameterizedTest
    @MethodSource("archs")
    void accountingEqualsLiveTablesAfterEveryOperation(String arch) {
        PageTables pt = tables(KernelConfig.of(Architectures.byName(arch)));
        PageRanges r = new PageRanges(pt);
        Geometry g = pt.geometry();
        Mm a = pt.newMm("a", MmKind.USER);
        Mm b = pt.newMm("b", MmKind.USER);
        long va = RangeFixture.userVa(pt.arch());
        long pmd = g.entrySize(g.holder(Level.PMD));
        List<Runnable> ops = List.of(
                () -> r.map(a, va, 0, 3 * pmd, g.pageSize(), PageProt.USER_RW),
                () -> r.protect(a, va, pmd, PageProt.USER_READ),
                () -> r.copy(a, b, va, 3 * pmd, true),
                () -> r.unmap(a, va + pmd, pmd),
                () -> r.map(a, va + 8 * pmd, 0, 2 * pmd, pmd, PageProt.USER_RW),
                () -> r.unmap(b, va, 3 * pmd),
                () -> r.apply(b, va, 4 * g.pageSize(), true, (x, e) -> e),
                () -> r.teardown(b),
                () -> r.teardown(a));
        for (Runnable op : ops) {
            op.run();
            pt.rcuBarrier();
            List<Violation> v = Checker.check(pt);
            assertThat(v).isEmpty();
            for (Mm mm : pt.mms()) {
                if (mm.isInitMm()) {
                    continue;
                }
                long bytes = 0;
                for (PageDesc t : tablesOf(pt, mm)) {
                    bytes += pt.countedInVmPte(t.level) ? g.tableBytes(t.level) : 0;
                }
                assertThat(mm.pgtablesBytes()).as("%s VmPTE rule", mm).isEqualTo(bytes);
            }
        }
        assertThat(a.pgtablesBytes()).isZero();
    }

    /**
     * Several CPUs install the same path at once ({@code __pte_alloc} et al.), round after
     * round: one table per level wins, the losers free theirs, counters stay exact, nothing leaks.
     */
    @ParameterizedTest
    @MethodSource("archs")
    void installRaceLeavesOneTableExactCountersAndNoLeak(String arch) throws Exception {
        PageTables pt = tables(KernelConfig.of(Architectures.byName(arch)));
        PageRanges r = new PageRanges(pt);
        Installer ins = new Installer(pt);
        Mm mm = pt.newMm("racy", MmKind.USER);
        long va = RangeFixture.userVa(pt.arch());
        int threads = 4;
        int rounds = 2000;
        long frames = pt.allocator().allocatedFrames();
        long nr = pt.stats().nrPagetable();
        AtomicReference<PageDesc>[] got = newRefs(threads);
        AtomicReference<Throwable> failure = new AtomicReference<>();
        CyclicBarrier start = new CyclicBarrier(threads);
        CyclicBarrier done = new CyclicBarrier(threads, () -> {
            try {
                PageDesc first = got[0].get();
                for (AtomicReference<PageDesc> g : got) {
                    if (g.get() != first) {
                        throw new AssertionError("two CPUs got different PTE tables for one PMD entry");
                    }
                }
                int levels = pt.geometry().levels().size();
                if (tablesOf(pt, mm).size() != levels) {
                    throw new AssertionError("more than one table per level: " + tablesOf(pt, mm).size());
                }
                List<Violation> v = Checker.check(pt);
                if (!v.isEmpty()) {
                    throw new AssertionError(v.toString());
                }
                r.unmap(mm, va, pt.geometry().pageSize()); // frees the now-empty path for the next round
            } catch (Throwable t) {
                failure.compareAndSet(null, t);
            }
        });
        List<Thread> ts = new ArrayList<>();
        for (int i = 0; i < threads; i++) {
            int id = i;
            Thread t = new Thread(() -> {
                new SimCpu(id).bindCurrentThread();
                try {
                    for (int round = 0; round < rounds && failure.get() == null; round++) {
                        start.await();
                        got[id].set(ins.walkAlloc(mm, va, Level.PTE, null));
                        done.await();
                    }
                } catch (Exception e) {
                    failure.compareAndSet(null, e);
                }
            }, "cpu" + id);
            ts.add(t);
            t.start();
        }
        for (Thread t : ts) {
            t.join();
        }
        if (failure.get() != null) {
            throw new AssertionError(failure.get());
        }
        pt.rcuBarrier();
        assertThat(pt.allocator().allocatedFrames()).as("no frame leaked").isEqualTo(frames);
        assertThat(pt.stats().nrPagetable()).isEqualTo(nr);
        assertThat(mm.pgtablesBytes()).isZero();
        System.out.printf("install race %-13s %d rounds x %d CPUs: %d races lost (loser freed its table)%n",
                arch, rounds, threads, pt.stats().installRacesLost());
        r.teardown(mm);
    }

    /**
     * pte_lockptr of a PTE table that was freed (a reader that kept it past its free) says so,
     * instead of suggesting that the table was constructed for init_mm.
     */
    @Test
    void lockptrOfAFreedTableNamesTheUseAfterFree() {
        PageTables pt = tables(KernelConfig.defaults());
        Mm mm = pt.newMm("u", MmKind.USER);
        PageDesc pte = pt.allocTable(mm, mm, Level.PTE, "pte_alloc_one");
        pt.freeTable(pte);
        assertThatThrownBy(() -> pt.pteLockptr(mm, pte)).isInstanceOf(LockProtocolError.class)
                .hasMessageContaining("pte_lockptr: PTE table pfn 0x" + Long.toHexString(pte.pfn()) + " of " + mm + " is freed")
                .hasMessageContaining("pte_free_defer").hasMessageNotContaining("init_mm");
        // The same for a PMD table with split PMD locks: it used to fall back to page_table_lock
        // without a word, since a freed table has no level.
        PageDesc pmd = pt.allocTable(mm, mm, Level.PMD, "pmd_alloc_one");
        pt.freeTable(pmd);
        assertThat(pt.config().pmdTablesHavePtlock()).isTrue();
        assertThatThrownBy(() -> pt.pmdLockptr(mm, pmd)).isInstanceOf(LockProtocolError.class)
                .hasMessageContaining("pmd_lockptr: PMD table pfn 0x" + Long.toHexString(pmd.pfn()) + " of " + mm + " is freed");
        pt.destroyMm(mm);
    }

    /**
     * {@code ALLOC_SPLIT_PTLOCKS}: {@code ptlock_alloc} can fail, and then the table's ctor
     * fails, the page goes straight back to the allocator (no dtor), nothing is counted, and the
     * operation that needed the table gets ENOMEM and rolls back. Fails the allocation of a PTE
     * table directly and inside a range map, and checks the frames.
     */
    @ParameterizedTest
    @MethodSource("archs")
    void aFailedPtlockAllocFreesTheTablePageAndCountsNothing(String arch) {
        PageTables pt = tables(KernelConfig.of(Architectures.byName(arch)).withPtlocks(true, true, true));
        PageRanges r = new PageRanges(pt);
        Mm mm = pt.newMm("u", MmKind.USER);
        long va = RangeFixture.userVa(pt.arch());
        long page = pt.geometry().pageSize();
        long frames = pt.allocator().allocatedFrames();
        long nr = pt.stats().nrPagetable();
        long ctors = pt.stats().ctorCalls(Level.PTE);
        pt.allocator().faultInjector().failSite("ptlock_alloc");
        try {
            assertThatThrownBy(() -> pt.allocTable(mm, mm, Level.PTE, "pte_alloc_one")).isInstanceOf(OutOfMemoryException.class);
            assertThat(pt.allocator().allocatedFrames()).as("the table page of a failed ctor is freed").isEqualTo(frames);
            assertThatThrownBy(() -> r.map(mm, va, 0x100000L * page, page, page, PageProt.USER_RW)).isInstanceOf(OutOfMemoryException.class);
        } finally {
            pt.allocator().faultInjector().reset();
        }
        assertThat(pt.stats().ctorFailures()).isPositive();
        assertThat(pt.allocator().allocatedFrames()).as("the failed map rolled back").isEqualTo(frames);
        assertThat(pt.stats().nrPagetable()).isEqualTo(nr);
        assertThat(pt.stats().ctorCalls(Level.PTE)).isEqualTo(ctors);
        assertThat(mm.pgtablesBytes()).isZero();
        r.map(mm, va, 0x100000L * page, page, page, PageProt.USER_RW); // and it works once the lock can be had
        r.teardown(mm);
    }

    /**
     * {@code pmd_install} publishes a PTE table under {@code pmd_lock}: the lock a huge fault
     * holds from its {@code pmd_none} check to {@code set_pmd_at} (and a zap or collapse holds
     * while it changes the PMD). While the test holds it, as a huge fault would, an install of
     * the same entry must wait, then find the leaf and free its table. Under another lock
     * ({@code page_table_lock}) both would see a none PMD and one store would overwrite the
     * other: a leaked table, or a leaked THP and deposit.
     */
    @ParameterizedTest
    @MethodSource("archsWithSplitPmdLocks")
    void pmdInstallWaitsForThePmdLockAHugeFaultHolds(String arch) throws Exception {
        KernelConfig c = KernelConfig.of(Architectures.byName(arch));
        Level pmdLevel = c.arch().geometry().holder(Level.PMD);
        PageTables pt = tables(c);
        Installer ins = new Installer(pt);
        Mm mm = pt.newMm("u", MmKind.USER);
        long va = RangeFixture.userVa(pt.arch());
        PageDesc pmdTable = ins.walkAlloc(mm, va, pmdLevel, null);
        int idx = pt.geometry().index(pmdLevel, va);
        long frames = pt.allocator().allocatedFrames();
        long nr = pt.stats().nrPagetable();
        long bytes = mm.pgtablesBytes();
        AtomicReference<Object> installed = new AtomicReference<>();
        Thread installer = new Thread(() -> {
            try {
                PageDesc t = ins.install(mm, pmdTable, idx, pmdLevel, Level.PTE, null);
                installed.set(t == null ? "leaf" : t);
            } catch (Throwable e) {
                installed.set(e);
            }
        }, "pmd_install");
        installer.setDaemon(true);
        long leaf = pt.format().mkLeaf(pmdLevel, pt.geometry().entrySize(pmdLevel) * 4, PageProt.USER_RW);
        SpinLock pml = pt.pmdLockptr(mm, pmdTable);
        pml.lock();
        try {
            installer.start();
            long deadline = System.nanoTime() + 10_000_000_000L;
            while (installer.isAlive() && !(LockSupport.getBlocker(installer) instanceof AbstractQueuedSynchronizer)) {
                assertThat(System.nanoTime() - deadline).as("the install reaches its lock").isNegative();
                Thread.sleep(1);
            }
            assertThat(PageTables.read(pmdTable, idx)).as("an install while pmd_lock is held elsewhere").isZero();
            PageTables.write(pmdTable, idx, leaf); // the huge fault's set_pmd_at, still under pmd_lock
        } finally {
            pml.unlock();
        }
        installer.join();
        assertThat(installed.get()).as("the install found the leaf and backed off").isEqualTo("leaf");
        assertThat(PageTables.read(pmdTable, idx)).isEqualTo(leaf);
        PageTables.write(pmdTable, idx, 0L); // the stand-in leaf maps no frame of this machine
        assertThat(pt.allocator().allocatedFrames()).as("the loser freed its table").isEqualTo(frames);
        assertThat(pt.stats().nrPagetable()).isEqualTo(nr);
        assertThat(mm.pgtablesBytes()).isEqualTo(bytes);
        new PageRanges(pt).teardown(mm);
    }

    @SuppressWarnings({"unchecked", "rawtypes"})
    private static AtomicReference<PageDesc>[] newRefs(int n) {
        AtomicReference<PageDesc>[] a = new AtomicReference[n];
        for (int i = 0; i < n; i++) {
            a[i] = new AtomicReference<>();
        }
        return a;
    }

    /**
     * Seed 001's bug class: a new kernel top-level entry populated through the {@code _kernel}
     * helper reaches every user PGD on architectures that sync; a raw populate leaves them stale
     * and the checker says so, once per user mm.
     */
    @ParameterizedTest
    @MethodSource("archs")
    void kernelHalfSyncReachesEveryUserPgdAndARawPopulateIsCaught(String arch) {
        PageTables pt = tables(KernelConfig.of(Architectures.byName(arch)));
        Architecture a = pt.arch();
        Installer ins = new Installer(pt);
        Geometry g = pt.geometry();
        List<Mm> users = new ArrayList<>();
        for (int i = 0; i < 16; i++) {
            users.add(pt.newMm("u" + i, MmKind.USER));
        }
        long rootSpan = g.entrySize(g.root());
        long va = RangeFixture.kernelVa(a);
        int idx = g.index(g.root(), va);
        long syncs = pt.stats().syncCalls();
        ins.walkAllocKernel(va, Level.PTE);
        long k = PageTables.read(pt.initMm().pgd(), idx);
        boolean syncing = a.sharesKernelHalf() && !a.syncMask().isEmpty();
        for (Mm u : users) {
            long e = PageTables.read(u.pgd(), idx);
            assertThat(e).as("%s PGD[%d] after pgd_populate_kernel", u, idx).isEqualTo(syncing ? k : 0L);
        }
        assertThat(pt.stats().syncCalls() - syncs).isEqualTo(syncing ? 1 : 0);
        assertThat(Checker.check(pt)).isEmpty();

        ins.walkAlloc(pt.initMm(), va + rootSpan, Level.PTE, null); // raw p4d_populate: no sync
        List<Violation> v = Checker.check(pt);
        if (syncing) {
            assertThat(v).hasSize(users.size()).allMatch(x -> x.kind().equals("kernel-half"));
            kernels.expect("kernel-half");
            pt.kernelHalf().syncKernelMappings(va + rootSpan, va + 2 * rootSpan);
            assertThat(Checker.check(pt)).as("a late sync repairs it").isEmpty();
        } else {
            assertThat(v).isEmpty();
        }
    }

    @Test
    void syncMasksAreTheKernels() {
        assertThat(Architectures.byName("x86_64-4l").syncMask()).isEqualTo(Set.of(Level.P4D));
        assertThat(Architectures.byName("x86_64-5l").syncMask()).isEqualTo(Set.of(Level.PGD));
        assertThat(Architectures.byName("arm64-4k-48").syncMask()).isEmpty();
    }
}
