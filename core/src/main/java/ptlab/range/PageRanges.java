package ptlab.range;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import ptlab.arch.Level;
import ptlab.arch.PageProt;
import ptlab.pgtable.Mm;
import ptlab.pgtable.PageTables;
import ptlab.pgtable.PgtblMask;
import ptlab.phys.PageDesc;
import ptlab.walk.Walker;
import ptlab.walk.WalkOptions;

/**
 * Map, unmap, change protection, apply and copy on raw page-table ranges of any mm, with 4K
 * and huge (PMD, PUD, ...) leaves, for every architecture. The library entry point for users
 * who want page tables without the VMA layer of {@link ptlab.mm} (hypervisors, emulators,
 * kernel-style mappings). See the package documentation for the contract.
 *
 * <pre>{@code
 * PageTables pt = new PageTables(KernelConfig.defaults(), new ViolationLog(false));
 * PageRanges r = new PageRanges(pt);
 * Mm mm = pt.newMm("guest", MmKind.USER);
 * r.map(mm, 0x4000_0000L, 0x1_0000_0000L, 1L << 30, 2L << 20, PageProt.USER_RW);
 * Mmu mmu = new Mmu(pt);                                      // CPUs: mmu.attach(cpu).switchMm(mm)
 * r.onFlush(f -> mmu.flushRange(f.mm(), f.start(), f.end())); // unmap and protect reach their TLBs
 * }</pre>
 *
 * <p>The operations request TLB flushes ({@link #flushes}) but flush nothing themselves: a
 * software MMU's CPUs keep translating through the old entries unless a listener
 * ({@link #onFlush}) shoots them down, as above ({@code flushKernelRange} for init_mm).
 */
public final class PageRanges {
    final PageTables pt;
    final Walker walker;
    /** How many of the latest flush requests {@link #flushes} keeps. */
    public static final int FLUSH_HISTORY = 1024;
    /** The latest {@link #FLUSH_HISTORY} requests, oldest first; guarded by itself. */
    private final java.util.ArrayDeque<FlushRequest> flushes = new java.util.ArrayDeque<>();
    private long flushCount;
    private volatile Consumer<FlushRequest> flushListener = f -> {};

    public PageRanges(PageTables pt) {
        this.pt = pt;
        this.walker = new Walker(pt);
    }

    public PageTables pageTables() {
        return pt;
    }

    /**
     * The latest TLB flush requests, oldest first: all of them up to {@link #FLUSH_HISTORY},
     * then the latest that many (a long-running user, a hypervisor say, must not grow without
     * bound; {@link #onFlush} sees every one).
     */
    public List<FlushRequest> flushes() {
        synchronized (flushes) {
            return List.copyOf(flushes);
        }
    }

    /** TLB flush requests made so far, all of them. */
    public long flushCount() {
        synchronized (flushes) {
            return flushCount;
        }
    }

    /** Called with every flush request before the tables it covers are freed (e.g. a software MMU's invalidate). */
    public void onFlush(Consumer<FlushRequest> listener) {
        this.flushListener = listener;
    }

    /**
     * Maps {@code [va, va + len)} to {@code [pa, pa + len)} with leaves of {@code leafSize}
     * ({@code vmap_range_noflush}, {@code remap_pfn_range}). Tables are installed as needed.
     *
     * @throws ptlab.InvalidAddressException   misaligned, empty, wrapping, non-canonical or
     *                                         half-crossing range, or a physical range too wide
     * @throws UnsupportedLeafSizeException    no level of the architecture maps leaves of that size
     * @throws RangeConflictException          part of the range is already mapped
     * @throws ptlab.phys.OutOfMemoryException a table could not be allocated; the map was rolled back
     */
    public void map(Mm mm, long va, long pa, long len, long leafSize, PageProt prot) {
        Level leaf = RangeCheck.leafLevel(pt, leafSize);
        RangeCheck.range(pt, mm, va, len, leafSize, "map");
        RangeCheck.phys(pt, pa, len, leafSize);
        long end = va + len;
        Probe probe = Probe.forMap(this, leaf, va, end);
        walker.walk(mm, va, end, probe, WalkOptions.UNLOCKED);
        if (probe.conflict != null) {
            throw new RangeConflictException("map: " + probe.conflict);
        }
        MapVisitor v = new MapVisitor(this, mm, leaf, va, pa, prot);
        try {
            walker.walk(mm, va, end, v, WalkOptions.LOCKED);
        } catch (RuntimeException e) {
            rollback(mm, va, end, v.installed);
            throw e;
        } finally {
            syncKernel(mm, va, end, v.mask);
        }
    }

    /**
     * {@code arch_sync_kernel_mappings}, as {@code vmap_range_noflush} and
     * {@code apply_to_page_range} call it: a populated level in the architecture's sync mask is
     * copied into every PGD on pgd_list. A failed map syncs after its rollback, so no user PGD
     * is handed a table the rollback freed.
     */
    private void syncKernel(Mm mm, long va, long end, PgtblMask mask) {
        if (mm.isInitMm() && mask.intersects(pt.arch().syncMask())) {
            pt.kernelHalf().syncKernelMappings(va, end);
        }
    }

    /** Clears what a failed map wrote, then unhooks and frees the tables it installed (innermost first). */
    private void rollback(Mm mm, long va, long end, List<MapVisitor.Installed> installed) {
        UnmapVisitor clear = new UnmapVisitor(this, mm, va, end, false);
        walker.walk(mm, va, end, clear, WalkOptions.LOCKED);
        List<PageDesc> freed = new ArrayList<>();
        for (int i = installed.size() - 1; i >= 0; i--) {
            MapVisitor.Installed t = installed.get(i);
            walker.installer().uninstall(mm, t.parent(), t.index(), t.table().level);
            freed.add(t.table());
        }
        flushAndFree(mm, va, end, freed);
    }

    /**
     * Unmaps {@code [va, va + len)}: clears its leaves and frees every table on its path that
     * no longer maps anything (a table that also maps something outside the range stays). Returns the number of leaves cleared.
     *
     * @throws RangeConflictException if the range cuts a huge leaf (nothing is changed)
     */
    public long unmap(Mm mm, long va, long len) {
        RangeCheck.range(pt, mm, va, len, pt.geometry().pageSize(), "unmap");
        long end = va + len;
        requireWholeLeaves(mm, va, end, "unmap");
        UnmapVisitor v = new UnmapVisitor(this, mm, va, end, true);
        walker.walk(mm, va, end, v, WalkOptions.LOCKED);
        if (v.cleared > 0 || !v.unhooked.isEmpty()) {
            flushAndFree(mm, va, end, v.unhooked);
        }
        return v.cleared;
    }

    /**
     * Gives every present leaf of {@code [va, va + len)} the protection {@code prot}, keeping its
     * accessed and dirty state ({@code change_protection}). Returns the number of leaves changed.
     *
     * @throws RangeConflictException if the range cuts a huge leaf (nothing is changed)
     */
    public long protect(Mm mm, long va, long len, PageProt prot) {
        RangeCheck.range(pt, mm, va, len, pt.geometry().pageSize(), "protect");
        long end = va + len;
        requireWholeLeaves(mm, va, end, "protect");
        ProtectVisitor v = new ProtectVisitor(this, mm, prot);
        walker.walk(mm, va, end, v, WalkOptions.LOCKED);
        if (v.changed > 0) {
            flushAndFree(mm, va, end, List.of());
        }
        return v.changed;
    }

    /**
     * {@code apply_to_page_range} ({@code create}) or {@code apply_to_existing_page_range}: calls
     * {@code fn} on the PTEs of the range under the PTE lock (none for init_mm) and stores what
     * it returns. Returns the number of calls.
     *
     * @throws RangeConflictException if a huge leaf lies in the range (PTEs before it were visited)
     */
    public long apply(Mm mm, long va, long len, boolean create, PteFunction fn) {
        RangeCheck.range(pt, mm, va, len, pt.geometry().pageSize(), create ? "apply_to_page_range" : "apply_to_existing_page_range");
        ApplyVisitor v = new ApplyVisitor(this, mm, create, fn);
        try {
            walker.walk(mm, va, va + len, v, WalkOptions.LOCKED);
        } finally {
            syncKernel(mm, va, va + len, v.mask);
        }
        return v.calls;
    }

    /**
     * {@code copy_page_range}: copies the tables and leaves of {@code [va, va + len)} of
     * {@code src} into {@code dst}, which allocates and accounts its own tables; with
     * {@code cow} writable leaves are write-protected in both. Returns the leaves copied.
     *
     * @throws RangeConflictException          if {@code dst} already maps part of the range
     * @throws ptlab.phys.OutOfMemoryException the copy was undone in {@code dst}
     */
    public long copy(Mm src, Mm dst, long va, long len, boolean cow) {
        if (src == dst || src.isInitMm() != dst.isInitMm()) {
            throw new IllegalArgumentException("copy: " + src + " → " + dst + " is not a copy between two distinct mms of one half");
        }
        RangeCheck.range(pt, src, va, len, pt.geometry().pageSize(), "copy");
        long end = va + len;
        Probe probe = Probe.forMap(this, Level.PTE, va, end);
        walker.walk(dst, va, end, probe, WalkOptions.UNLOCKED);
        if (probe.conflict != null) {
            throw new RangeConflictException("copy: destination " + probe.conflict);
        }
        CopyVisitor v = new CopyVisitor(this, src, dst, cow);
        try {
            walker.walk(src, va, end, v, WalkOptions.UNLOCKED);
        } catch (RuntimeException e) {
            UnmapVisitor undo = new UnmapVisitor(this, dst, va, end, true);
            walker.walk(dst, va, end, undo, WalkOptions.LOCKED);
            flushAndFree(dst, va, end, undo.unhooked);
            throw e;
        }
        if (v.wrprotected) {
            flushAndFree(src, va, end, List.of());
        }
        return v.copied;
    }

    /**
     * Tears a user or special mm down ({@code exit_mmap} + {@code pgd_free}): unmaps its whole
     * half, frees every table, then the root. Its page-table bytes return to zero.
     */
    public void teardown(Mm mm) {
        if (mm.isInitMm()) {
            throw new IllegalArgumentException("init_mm is never torn down");
        }
        long top = pt.arch().userTop();
        UnmapVisitor v = new UnmapVisitor(this, mm, 0, top, true);
        walker.walk(mm, 0, top, v, WalkOptions.LOCKED);
        flushAndFree(mm, 0, top, v.unhooked);
        pt.destroyMm(mm);
    }

    private void requireWholeLeaves(Mm mm, long va, long end, String op) {
        Probe probe = Probe.forSplitFree(this, va, end);
        walker.walk(mm, va, end, probe, WalkOptions.UNLOCKED);
        if (probe.conflict != null) {
            throw new RangeConflictException(op + ": " + probe.conflict);
        }
    }

    /** Unhook (done by the caller) → flush request → free through RCU ({@code tlb_remove_table}). */
    private void flushAndFree(Mm mm, long start, long end, List<PageDesc> unhooked) {
        FlushRequest f = new FlushRequest(mm, start, end, unhooked.size());
        synchronized (flushes) {
            if (flushes.size() == FLUSH_HISTORY) {
                flushes.removeFirst();
            }
            flushes.addLast(f);
            flushCount++;
        }
        ptlab.events.Tracepoints.tlbFlush("range", mm, start, end, 0);
        flushListener.accept(f);
        for (PageDesc t : unhooked) {
            pt.tlbRemoveTable(t); // dtor and free after an RCU grace period: lockless walkers may still map it
        }
    }
}
