package ptlab.check;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import ptlab.arch.Architecture;
import ptlab.arch.Geometry;
import ptlab.arch.Level;
import ptlab.arch.PteFormat;
import ptlab.cpu.Violation;
import ptlab.pgtable.Mm;
import ptlab.pgtable.PageTables;
import ptlab.phys.BuddyAllocator;
import ptlab.phys.PageDesc;

/**
 * The invariant checker: walks every address space, the deposits, the allocator and the
 * per-frame metadata, and returns every violation it finds (it never stops at the first).
 * Tables waiting for an RCU grace period count as constructed and must be unreachable.
 * The rules are those of {@code shared/reference/kernel-semantics.md}, last section:
 * ctor/dtor balance per level, NR_PAGETABLE and per-mm pgtables_bytes equal to the live
 * tables, one parent per table (the shared kernel half aside), the level in the metadata,
 * ptlocks exactly where the rule puts them, no reachable frame free or poisoned, user PGDs'
 * kernel halves equal to init_mm's where the architecture syncs, pgd_list equal to the live
 * user mms, and whatever runtime checks recorded (might-sleep, use-after-free, lock order).
 */
/*
 * Implementation notes. The checker reads entries with acquire loads and takes no locks: run
 * it when the machine is quiescent (tests run it after the work threads joined). Kernel-half
 * entries of user PGDs (index >= kernelHalfStart on x86/RISC-V) are compared with init_mm's
 * and not descended: the tables behind them are init_mm's and are counted there.
 */
public final class Checker {
    private final PageTables pt;
    private final Geometry geo;
    private final PteFormat fmt;
    private final Architecture arch;
    private final List<Violation> out = new ArrayList<>();
    /** Parent references per table frame. */
    private final Map<Long, Integer> refs = new HashMap<>();
    private final long[] liveByLevel = new long[5];
    private long constructedPages;

    private Checker(PageTables pt) {
        this.pt = pt;
        this.geo = pt.geometry();
        this.fmt = pt.format();
        this.arch = pt.arch();
    }

    /**
     * {@code rcu_barrier()}, then {@link #check}: every deferred table free has run, so a leak or
     * a free of a still-reachable table shows in the counts.
     */
    public static List<Violation> checkDrained(PageTables pt) {
        pt.rcuBarrier();
        return check(pt);
    }

    /** Checks {@code pt} and returns every violation, including those the runtime checks recorded. */
    public static List<Violation> check(PageTables pt) {
        Checker c = new Checker(pt);
        c.run();
        return c.out;
    }

    private void fail(String kind, String detail) {
        out.add(new Violation(kind, detail));
    }

    private void run() {
        out.addAll(pt.log().snapshot());
        List<Mm> mms = pt.mms();
        Map<Mm, Long> bytes = new IdentityHashMap<>();
        for (Mm mm : mms) {
            long[] counted = new long[1];
            PageDesc root = mm.pgd();
            if (root == null) {
                fail("mm", mm + " has no PGD");
                continue;
            }
            table(mm, root, geo.root(), 0, counted, mm.isInitMm());
            if (!pt.config().pmdTablesHavePtlock()) {
                deposits(mm, null, counted);
            }
            bytes.put(mm, counted[0]);
        }
        for (Mm mm : mms) {
            if (!mm.isInitMm() && bytes.get(mm) != null && bytes.get(mm) != mm.pgtablesBytes()) {
                fail("mm-accounting", mm + ": pgtables_bytes " + mm.pgtablesBytes() + " but live PTE/PMD/PUD tables and deposits make "
                        + bytes.get(mm));
            }
            if (mm.pgtablesBytes() < 0) {
                fail("mm-accounting", mm + ": pgtables_bytes is negative (" + mm.pgtablesBytes() + ")");
            }
        }
        deferredTables();
        for (Map.Entry<Long, Integer> e : refs.entrySet()) {
            if (e.getValue() > 1) {
                fail("table-parents", "table pfn 0x" + Long.toHexString(e.getKey()) + " is reachable from " + e.getValue() + " entries");
            }
        }
        if (pt.stats().nrPagetable() != constructedPages) {
            fail("nr-pagetable", "NR_PAGETABLE is " + pt.stats().nrPagetable() + " pages but live constructed tables hold "
                    + constructedPages);
        }
        for (Level l : Level.values()) {
            long bal = pt.stats().ctorCalls(l) - pt.stats().dtorCalls(l);
            if (bal != liveByLevel[l.ordinal()]) {
                fail("ctor-balance", l + ": " + pt.stats().ctorCalls(l) + " ctors - " + pt.stats().dtorCalls(l) + " dtors = " + bal
                        + " but " + liveByLevel[l.ordinal()] + " constructed tables are live");
            }
        }
        kernelHalf(mms);
    }

    private void table(Mm mm, PageDesc t, Level level, long base, long[] counted, boolean kernelOwner) {
        BuddyAllocator alloc = pt.allocator();
        String where = mm + " " + level + " table pfn 0x" + Long.toHexString(t.pfn()) + " (va 0x" + Long.toHexString(base) + ")";
        if (t.poisoned()) {
            fail("use-after-free", where + " is reachable but freed (poisoned)");
            return;
        }
        if (alloc.isFree(t.pfn())) {
            fail("free-reachable", where + " is reachable but its frame is free");
        }
        if (t.level != level) {
            fail("table-level", where + " has level " + t.level + " in its metadata");
        }
        boolean staticRoot = mm.isInitMm() && t == mm.pgd();
        if (level == Level.PMD && pt.config().pmdTablesHavePtlock()) {
            deposits(mm, t, counted);
        }
        checkConstructed(mm, t, level, where, staticRoot);
        if (pt.countedInVmPte(level)) {
            counted[0] += geo.tableBytes(level);
        }
        int n = geo.entries(level);
        Level lower = level == Level.PTE ? null : geo.levels().get(geo.levels().indexOf(level) + 1);
        long span = geo.entrySize(level);
        long[] w = t.words();
        int kernelStart = pt.ownedEntries(mm, level);
        for (int i = 0; i < n; i++) {
            long e = PageTables.read(t, i);
            if (i >= kernelStart || lower == null) {
                continue;
            }
            long va = base + i * span;
            if (level == geo.root() && i >= n / 2 && arch.sharesKernelHalf()) {
                va = va | -(1L << (geo.vaBits() - 1)); // sign-extend the upper half
            }
            if (fmt.isTable(level, e)) {
                PageDesc child;
                try {
                    child = pt.child(level, e);
                } catch (RuntimeException ex) {
                    fail("table-pointer", where + " entry " + i + " points to 0x" + Long.toHexString(fmt.outputAddress(level, e))
                            + " which holds no table");
                    continue;
                }
                refs.merge(child.pfn(), 1, Integer::sum);
                table(mm, child, lower, va, counted, kernelOwner);
            } else if (!fmt.isNone(e) && fmt.isBad(level, e)) {
                fail("bad-entry", where + " entry " + i + " = 0x" + Long.toHexString(e) + " is bad");
            }
        }
        if (w == null) {
            fail("table-backing", where + " has no backing words");
        }
    }

    /**
     * Tables unhooked and waiting for their RCU grace period (pte_free_defer, tlb_remove_table):
     * still constructed and in NR_PAGETABLE until the callback's dtor, but no longer counted in
     * pgtables_bytes and never reachable.
     */
    private void deferredTables() {
        for (PageDesc d : pt.deferredTables()) {
            String where = d.level + " table pfn 0x" + Long.toHexString(d.pfn()) + " awaiting its RCU grace period";
            if (d.poisoned()) {
                fail("use-after-free", where + " is already freed (poisoned)");
                continue;
            }
            if (refs.containsKey(d.pfn())) {
                fail("deferred-reachable", where + " is still reachable from a live entry");
            }
            if (d.pageTable) {
                liveByLevel[d.level.ordinal()]++;
                constructedPages += 1L << d.order;
            }
        }
    }

    /** Deposited PTE tables parked with a PMD-level table (split PMD locks) are live and counted. */
    private void deposits(Mm mm, PageDesc pmdTable, long[] counted) {
        for (PageDesc d : pt.deposits(mm, pmdTable)) {
            String where = mm + " deposited PTE table pfn 0x" + Long.toHexString(d.pfn());
            if (d.poisoned()) {
                fail("use-after-free", where + " is freed (poisoned)");
                continue;
            }
            refs.merge(d.pfn(), 1, Integer::sum);
            checkConstructed(mm, d, Level.PTE, where, false);
            counted[0] += geo.tableBytes(Level.PTE);
        }
    }

    private void checkConstructed(Mm mm, PageDesc t, Level level, String where, boolean staticRoot) {
        if (staticRoot) {
            if (t.pageTable) {
                fail("ctor", where + " (swapper_pg_dir) must not be constructed");
            }
            return;
        }
        if (t.memblock) {
            // Early boot tables (memblock): never constructed, never locked, init_mm's only.
            if (!mm.isInitMm() || t.pageTable || t.ptl != null) {
                fail("ctor", where + " is a memblock table but " + (!mm.isInitMm() ? "not init_mm's"
                        : t.pageTable ? "constructed" : "has a ptlock"));
            }
            return;
        }
        boolean legacyKernelPte = pt.config().pre616Ctors() && level == Level.PTE && mm.isInitMm();
        if (!legacyKernelPte) {
            if (!t.pageTable) {
                fail("ctor", where + " is live but its ctor did not run (PageTable type not set)");
            } else {
                liveByLevel[level.ordinal()]++;
                constructedPages += 1L << t.order;
            }
        }
        Mm ctorMm = t.hasMm ? (Mm) t.mm : null;
        boolean want = pt.ptlockExpected(level, ctorMm, t.hasMm);
        if (want != (t.ptl != null)) {
            fail("ptlock", where + (want ? " has no ptlock but needs one" : " has a ptlock but must not (init_mm tables never do)"));
        }
    }

    private void kernelHalf(List<Mm> mms) {
        if (!arch.sharesKernelHalf()) {
            return;
        }
        Level root = geo.root();
        PageDesc kpgd = pt.initMm().pgd();
        int n = geo.entries(root);
        List<Mm> list = arch.syncMask().isEmpty() ? List.of() : pt.pgdList();
        for (Mm mm : mms) {
            if (mm.isInitMm()) {
                continue;
            }
            if (!arch.syncMask().isEmpty() && !list.contains(mm)) {
                fail("pgd-list", mm + " is live but not on pgd_list");
            }
            if (arch.syncMask().isEmpty()) {
                continue;
            }
            for (int i = arch.kernelHalfStart(); i < n; i++) {
                long k = PageTables.read(kpgd, i);
                long u = PageTables.read(mm.pgd(), i);
                if (!fmt.isNone(k) && u != k) {
                    fail("kernel-half", mm + " PGD[" + i + "] = 0x" + Long.toHexString(u) + " but init_mm has 0x" + Long.toHexString(k)
                            + " (missing arch_sync_kernel_mappings?)");
                }
            }
        }
        for (Mm mm : list) {
            if (mm.isDead() || !mms.contains(mm)) {
                fail("pgd-list", mm + " is on pgd_list but dead");
            }
        }
    }
}
