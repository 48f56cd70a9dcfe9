package ptlab.pgtable;

import java.util.concurrent.atomic.AtomicLong;
import ptlab.arch.Level;
import ptlab.arch.PteFormat;
import ptlab.cpu.SpinLock;
import ptlab.phys.PageDesc;
import ptlab.rcu.RcuReaders;

/**
 * The {@code pte_offset_map} family ({@code mm/pgtable-generic.c}, Hugh Dickins, 6.5): lockless
 * access to a PTE table that may be detached at any moment by retraction or PT reclaim.
 *
 * <ul>
 *   <li>{@link #map} — {@code pte_offset_map} / {@code __pte_offset_map}: RCU read section,
 *       PMD snapshot, {@link PteMapping.NoTable} if it is none, huge, not present or bad.</li>
 *   <li>{@link #mapLock} — {@code pte_offset_map_lock}: map, take the PTE lock of the
 *       snapshot's table, recheck {@code pmd_same}; on mismatch unlock, unmap and retry.</li>
 *   <li>{@link #mapRoNolock} — {@code pte_offset_map_ro_nolock}: map and name the lock; read only.</li>
 *   <li>{@link #mapRwNolock} — {@code pte_offset_map_rw_nolock}: map, name the lock, return the
 *       snapshot; the caller locks and rechecks ({@link PteMapping.Mapped#lockAndRecheck}).</li>
 *   <li>{@link #offsetKernel} — {@code pte_offset_kernel}: init_mm or a table known stable; no RCU.</li>
 *   <li>{@link #allocMapLock} — {@code pte_alloc_map_lock}: install if none, then map and lock.</li>
 * </ul>
 */
/*
 * Implementation notes.
 *
 * Why it is safe: a table is detached (PMD cleared) only under pmd_lock + this table's ptl
 * (retract_page_tables, try_get_and_clear_pmd) or under the exclusive mmap_lock
 * (free_pgtables, anonymous collapse), and freed only after an RCU grace period
 * (PageTables.pteFreeDefer / tlbRemoveTable). The snapshot's table is therefore valid memory
 * for the whole read section; after taking its ptl, pmd_same tells whether it is still the
 * live table, because any detacher holding that ptl has finished. The PMD is read with an
 * acquire load (pmdp_get_lockless + dependent-load order), so a table found is seen with its
 * zeroed contents and constructed ptl (pmd_install's smp_wmb).
 */
public final class PteMaps {
    final PageTables pt;
    private final PteFormat fmt;
    private final Level pmdLevel;
    private final AtomicLong maps = new AtomicLong();
    private final AtomicLong retries = new AtomicLong();
    private final AtomicLong noTable = new AtomicLong();
    /** Negative-control switch: when false, the {@code pmd_same} rechecks are skipped (the bug the tests must catch). */
    volatile boolean pmdSameRecheck = true;

    PteMaps(PageTables pt) {
        this.pt = pt;
        this.fmt = pt.format();
        this.pmdLevel = pt.geometry().holder(Level.PMD);
    }

    /** The run-time level whose entries point to PTE tables. */
    public Level pmdLevel() {
        return pmdLevel;
    }

    /** {@code pte_offset_map(pmd, addr)}. On {@link PteMapping.Mapped} the caller is in an RCU read section until close. */
    public PteMapping map(Mm mm, PageDesc pmdTable, int pmdIdx) {
        return mapKind(mm, pmdTable, pmdIdx, PteMapping.Kind.MAP);
    }

    /** {@code pte_offset_map_ro_nolock(mm, pmd, addr, &ptl)}: read only; the table may already be detached. */
    public PteMapping mapRoNolock(Mm mm, PageDesc pmdTable, int pmdIdx) {
        return mapKind(mm, pmdTable, pmdIdx, PteMapping.Kind.RO_NOLOCK);
    }

    /** {@code pte_offset_map_rw_nolock(mm, pmd, addr, &pmdval, &ptl)}: the caller must lock and recheck before writing. */
    public PteMapping mapRwNolock(Mm mm, PageDesc pmdTable, int pmdIdx) {
        return mapKind(mm, pmdTable, pmdIdx, PteMapping.Kind.RW_NOLOCK);
    }

    /** {@code pte_offset_map_lock(mm, pmd, addr, &ptl)}: mapped and locked, with the PMD rechecked. */
    public PteMapping mapLock(Mm mm, PageDesc pmdTable, int pmdIdx) {
        if (mm.isInitMm()) {
            throw new IllegalArgumentException("pte_offset_map_lock on init_mm: kernel PTE tables have no ptlock (pte_offset_kernel)");
        }
        while (true) {
            PteMapping m = mapKind(mm, pmdTable, pmdIdx, PteMapping.Kind.MAP_LOCK);
            if (!(m instanceof PteMapping.Mapped)) {
                return m;
            }
            PteMapping.Mapped mp = (PteMapping.Mapped) m;
            boolean keep = false;
            try {
                mp.ptl().lock();
                mp.markLocked();
                keep = pmdSame(mp);
            } finally {
                if (!keep) {
                    mp.close(); // recheck failed, or the lock threw: unlock (if taken) and leave the RCU section
                }
            }
            if (keep) {
                return mp;
            }
            retries.incrementAndGet();
        }
    }

    /**
     * {@code pte_alloc_map_lock}: installs a PTE table if the PMD is none ({@code __pte_alloc},
     * which may sleep, so it runs before the RCU section), then {@link #mapLock}. Returns
     * {@link PteMapping.NoTable} if the PMD is or became huge.
     */
    public PteMapping allocMapLock(Mm mm, PageDesc pmdTable, int pmdIdx) {
        while (true) {
            long pmd = PageTables.read(pmdTable, pmdIdx);
            if (fmt.isNone(pmd)) {
                new Installer(pt).install(mm, pmdTable, pmdIdx, pmdLevel, Level.PTE, null);
            }
            PteMapping m = mapLock(mm, pmdTable, pmdIdx);
            if (m instanceof PteMapping.NoTable && ((PteMapping.NoTable) m).why() == PteMapping.Why.NONE) {
                continue; // reclaimed between install and map: install again
            }
            return m;
        }
    }

    /** {@code pte_offset_kernel(pmd, addr)}: plain arithmetic on a stable table; no RCU, no lock. */
    public PteMapping offsetKernel(Mm mm, PageDesc pmdTable, int pmdIdx) {
        long pmd = PageTables.read(pmdTable, pmdIdx);
        PteMapping.NoTable nt = classify(pmd);
        if (nt != null) {
            noTable.incrementAndGet();
            return nt;
        }
        PageDesc t = pt.child(pmdLevel, pmd);
        maps.incrementAndGet();
        return new PteMapping.Mapped(this, PteMapping.Kind.KERNEL, mm, pmdTable, pmdIdx, pmd, t, t.generation(), null);
    }

    private PteMapping mapKind(Mm mm, PageDesc pmdTable, int pmdIdx, PteMapping.Kind kind) {
        RcuReaders.readLock();
        boolean mapped = false;
        try {
            long pmd = PageTables.read(pmdTable, pmdIdx); // pmdp_get_lockless
            PteMapping.NoTable nt = classify(pmd);
            if (nt != null) {
                noTable.incrementAndGet();
                return nt;
            }
            PageDesc t = pt.child(pmdLevel, pmd);
            int gen = t.generation();
            SpinLock ptl = kind == PteMapping.Kind.MAP || mm.isInitMm() ? null : pt.pteLockptr(mm, t);
            maps.incrementAndGet();
            PteMapping.Mapped m = new PteMapping.Mapped(this, kind, mm, pmdTable, pmdIdx, pmd, t, gen, ptl);
            mapped = true;
            return m;
        } finally {
            if (!mapped) {
                RcuReaders.readUnlock(); // no table, or an exception (pte_lockptr of a bad table): leave the section
            }
        }
    }

    private PteMapping.NoTable classify(long pmd) {
        if (fmt.isNone(pmd)) {
            return new PteMapping.NoTable(PteMapping.Why.NONE, pmd);
        }
        if (fmt.isTable(pmdLevel, pmd)) {
            return null;
        }
        if (fmt.isLeaf(pmdLevel, pmd)) {
            return new PteMapping.NoTable(PteMapping.Why.HUGE, pmd);
        }
        if (fmt.isBad(pmdLevel, pmd)) {
            pt.log().record("bad-entry", "pte_offset_map: bad pmd 0x" + Long.toHexString(pmd));
            return new PteMapping.NoTable(PteMapping.Why.BAD, pmd);
        }
        return new PteMapping.NoTable(PteMapping.Why.NOT_PRESENT, pmd);
    }

    /** The {@code pmd_same} recheck after locking (skipped only by the negative-control switch). */
    boolean pmdSame(PteMapping.Mapped m) {
        return !pmdSameRecheck || m.recheck();
    }

    /* ---- statistics ---- */

    /** Successful maps of every kind. */
    public long maps() {
        return maps.get();
    }

    /** {@code pte_offset_map_lock} retries after a failed {@code pmd_same} recheck. */
    public long retries() {
        return retries.get();
    }

    /** Maps that found no table. */
    public long noTables() {
        return noTable.get();
    }
}
