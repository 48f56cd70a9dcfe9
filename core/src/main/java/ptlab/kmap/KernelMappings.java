package ptlab.kmap;

import java.util.List;
import ptlab.arch.Geometry;
import ptlab.arch.Level;
import ptlab.arch.PageProt;
import ptlab.cpu.LockClass;
import ptlab.cpu.Mutex;
import ptlab.cpu.SimCpu;
import ptlab.mm.Errno;
import ptlab.mm.Kernel;
import ptlab.pgtable.Mm;
import ptlab.pgtable.PageTables;
import ptlab.pgtable.PgtblMask;
import ptlab.phys.AllocResult;
import ptlab.phys.Gfp;
import ptlab.phys.PageDesc;
import ptlab.walk.Walker;
import ptlab.walk.WalkOptions;

/**
 * init_mm's kernel mappings on one simulated machine: boot ({@code paging_init}/{@code map_mem},
 * {@code vmemmap_populate}, {@code preallocate_vmalloc_pages}), vmalloc, leaf splitting,
 * the linear-map split under stop_machine ({@link LinearMapSplit}), memory hot-add
 * ({@link MemoryHotplug}) and kernel accesses from a CPU ({@link #access}).
 *
 * <p>Boot tables come from {@link TableAllocators#memblock} (no ctor); every table made after
 * boot comes from {@link TableAllocators#initMm} (ctor for init_mm: counted, no ptlock).
 */
public final class KernelMappings {
    /** Fault-injection site of boot vmemmap backing (memblock). */
    public static final String SITE_VMEMMAP_BOOT = "vmemmap_alloc_block(memblock)";
    /** Fault-injection site of vmemmap backing after boot. */
    public static final String SITE_VMEMMAP = "vmemmap_alloc_block";

    final Kernel kernel;
    final PageTables pt;
    final Walker walker;
    final Geometry geo;
    final KernelLayout layout;
    final Cpus cpus;
    final BbmTracker tracker;
    final Mutex splitLock;
    final Splitter splitter;
    private final boolean forcePte;
    /** Set once {@link LinearMapSplit} made the linear map PTEs. */
    boolean linearMapSplitToPtes;
    private long ramEnd;
    private long vmallocNext;

    /**
     * @param forcePte {@code force_pte_mapping()} (debug_pagealloc, or rodata_full without BBML2): the
     *                 linear map is made of PTEs only and never needs a split
     */
    public KernelMappings(Kernel kernel, Cpus cpus, boolean forcePte) {
        this.kernel = kernel;
        this.pt = kernel.pageTables();
        this.walker = kernel.walker();
        this.geo = pt.geometry();
        this.layout = KernelLayout.of(pt.arch());
        this.cpus = cpus;
        this.tracker = new BbmTracker(pt, cpus);
        this.splitLock = new Mutex("pgtable_split_lock", LockClass.SPLIT_MUTEX, pt.log());
        this.splitter = new Splitter(pt, walker, tracker, splitLock, layout.contMappings());
        this.forcePte = forcePte;
        this.vmallocNext = layout.vmallocStart();
    }

    public KernelMappings(Kernel kernel) {
        this(kernel, Cpus.single(), false);
    }

    /* ---- boot ---- */

    /**
     * Builds the linear map of all RAM, its vmemmap (both from memblock) and, where user PGDs
     * share the kernel half, the vmalloc area's top-level tables (normal path, with ctor). On
     * failure everything is undone and ENOMEM returned.
     */
    public KmapResult boot() {
        for (ptlab.pgtable.Mm m : pt.mms()) {
            if (m.kind() == ptlab.pgtable.MmKind.USER) {
                // Linux boots before the first process; a PGD made earlier would lack the kernel
                // half that pgd_alloc copies from init_mm (x86, RISC-V) and nothing would sync it.
                throw new IllegalStateException("boot: user mm " + m + " exists already; boot the kernel mappings before any process");
            }
        }
        long ram = pt.config().ramBytes();
        if (Long.compareUnsigned(ram, layout.linearEnd() - layout.pageOffset()) > 0) {
            return KmapResult.invalid("RAM of " + ram + " bytes does not fit the linear map of " + pt.arch());
        }
        UndoLog undo = new UndoLog(pt);
        PgtableAllocFn early = undo.wrap(TableAllocators.memblock(pt));
        tracker.recordSets(false);
        try {
            KmapResult r = mapLinear(0, ram, early, undo, null);
            if (r.ok()) {
                r = populateVmemmap(0, ram >>> geo.pageShift(), early, true, undo, null);
            }
            if (r.ok() && pt.arch().sharesKernelHalf()) {
                r = preallocateTopLevel(layout.vmallocStart(), layout.vmallocEnd(), undo.wrap(TableAllocators.initMm(pt)), undo);
            }
            if (!r.ok()) {
                undo.undo();
                tracker.flushKernelRange(pt.arch().kernelBase(), -1L);
                return r;
            }
            undo.commit();
            ramEnd = ram;
            return r;
        } finally {
            tracker.recordSets(true);
        }
    }

    /** The leaf levels the linear map uses: blocks unless PTE mapping is forced. */
    public List<Level> linearLeafLevels() {
        return forcePte ? List.of(Level.PTE) : layout.blockLevels();
    }

    /** {@code linear_map_requires_bbml2}: block mappings kept, to be split on demand. */
    public boolean linearMapRequiresBbml2() {
        return !forcePte && layout.blockLevels().size() > 1;
    }

    KmapResult mapLinear(long pa, long size, PgtableAllocFn alloc, UndoLog undo, PgtblMask mask) {
        return map(pt.initMm(), layout.linearVa(pa), size, pa, PageProt.KERNEL_RW, alloc, linearLeafLevels(),
                layout.contMappings() && !forcePte, undo, mask);
    }

    /** {@code __create_pgd_mapping(mm->pgd, pa, va, size, prot, pgtable_alloc, flags)}. */
    KmapResult map(Mm mm, long va, long size, long pa, PageProt prot, PgtableAllocFn alloc, List<Level> leaves, boolean cont,
            UndoLog undo, PgtblMask mask) {
        MapRange op = new MapRange(pt, tracker, mm, va, size, pa, prot, alloc, leaves, cont, undo, mask);
        walker.walk(mm, va, va + size, op, WalkOptions.UNLOCKED);
        return op.result;
    }

    /**
     * {@code vmemmap_populate(start, end)} for pfns {@code [startPfn, endPfn)}: each leaf of
     * {@link KernelLayout#vmemmapLevel} gets a fresh block of backing frames.
     */
    KmapResult populateVmemmap(long startPfn, long endPfn, PgtableAllocFn alloc, boolean early, UndoLog undo, PgtblMask mask) {
        Level leaf = layout.vmemmapLevel();
        long leafSize = geo.entrySize(leaf);
        int order = Long.numberOfTrailingZeros(leafSize) - geo.pageShift();
        long start = layout.structPageVa(startPfn) & -leafSize;
        long end = (layout.structPageVa(endPfn) + leafSize - 1) & -leafSize;
        String site = early ? SITE_VMEMMAP_BOOT : SITE_VMEMMAP;
        for (long va = start; va != end; va += leafSize) {
            if (Translations.translate(pt, pt.initMm(), va) instanceof Translation.Mapped) {
                continue; // shared with a neighbouring section
            }
            AllocResult r = pt.allocator().allocate(order, Gfp.KERNEL.zeroed(), site);
            if (!r.ok()) {
                return KmapResult.noMemory(r.toString());
            }
            long pfn = ((AllocResult.Frames) r).pfn();
            undo.frames(pfn, order);
            KmapResult m = map(pt.initMm(), va, leafSize, pt.memory().paOf(pfn), PageProt.KERNEL_RW, alloc, List.of(leaf), false, undo,
                    mask);
            if (!m.ok()) {
                return m;
            }
        }
        return KmapResult.OK;
    }

    /** {@code preallocate_vmalloc_pages}: a table under every root entry of {@code [start, end]}. */
    private KmapResult preallocateTopLevel(long start, long end, PgtableAllocFn alloc, UndoLog undo) {
        Level root = geo.root();
        Level lower = geo.levels().get(1);
        long span = geo.entrySize(root);
        PageDesc pgd = pt.initMm().pgd();
        for (long va = start & -span; Long.compareUnsigned(va, end) <= 0 && va != 0; va += span) {
            int idx = geo.index(root, va);
            if (!pt.format().isNone(PageTables.read(pgd, idx))) {
                continue;
            }
            TableAlloc r = alloc.alloc(lower);
            if (r instanceof TableAlloc.Failed) {
                return KmapResult.noMemory(((TableAlloc.Failed) r).reason());
            }
            undo.stored(pgd, idx, 0L);
            tracker.write(pgd, idx, root, va, pt.format().mkTable(root, pt.pa(((TableAlloc.Table) r).desc()), ptlab.arch.TableKind.KERNEL),
                    false);
        }
        return KmapResult.OK;
    }

    /* ---- vmalloc ---- */

    /** Result of {@link #vmalloc}: the address, or the failure. */
    public record Vmalloc(KmapResult result, long va) {}

    /**
     * {@code vmalloc(pages * PAGE_SIZE)}: fresh frames mapped by PTEs in the vmalloc area, tables
     * through the normal path, kernel-half sync where a synced level was populated. A guard page
     * follows each area.
     */
    public synchronized Vmalloc vmalloc(int pages) {
        long size = (long) pages << geo.pageShift();
        long va = vmallocNext;
        if (pages <= 0) {
            return new Vmalloc(KmapResult.invalid("vmalloc of " + pages + " pages"), 0);
        }
        // vmallocEnd is the area's last byte; the area and its guard page must fit below it.
        if (Long.compareUnsigned(va + size + geo.pageSize() - 1, layout.vmallocEnd()) > 0 || Long.compareUnsigned(va + size, va) <= 0) {
            return new Vmalloc(KmapResult.noMemory("vmalloc: no room for " + pages + " pages left in the vmalloc area"), 0);
        }
        UndoLog undo = new UndoLog(pt);
        PgtableAllocFn alloc = undo.wrap(TableAllocators.initMm(pt));
        PgtblMask mask = new PgtblMask();
        for (int i = 0; i < pages; i++) {
            AllocResult r = pt.allocator().allocate(0, Gfp.KERNEL, "vmalloc");
            KmapResult m = r.ok() ? KmapResult.OK : KmapResult.noMemory(r.toString());
            if (r.ok()) {
                long pfn = ((AllocResult.Frames) r).pfn();
                undo.frames(pfn, 0);
                m = map(pt.initMm(), va + ((long) i << geo.pageShift()), geo.pageSize(), pt.memory().paOf(pfn), PageProt.KERNEL_RW, alloc,
                        List.of(Level.PTE), false, undo, mask);
            }
            if (!m.ok()) {
                undo.undo();
                tracker.flushKernelRange(va, va + size);
                return new Vmalloc(m, 0);
            }
        }
        if (mask.intersects(pt.arch().syncMask())) {
            pt.kernelHalf().syncKernelMappings(va, va + size);
        }
        undo.commit();
        vmallocNext = va + size + geo.pageSize();
        return new Vmalloc(KmapResult.OK, va);
    }

    /* ---- accesses ---- */

    /**
     * A kernel load from {@code va} on the calling CPU, translated through the mm the CPU runs
     * ({@link SimCpu#currentMm()}; init_mm if none, and always init_mm's root where the kernel
     * has its own, arm64's TTBR1). A miss is an oops ({@code kernel-oops} violation).
     */
    public Translation access(long va) {
        SimCpu cpu = SimCpu.current();
        Object cur = cpu.currentMm();
        Mm user = cur instanceof Mm ? (Mm) cur : null;
        Mm mm;
        if (!pt.arch().isCanonical(va)) {
            mm = null; // x86 #GP, arm64/RISC-V: no table covers it
        } else if (pt.arch().sharesKernelHalf()) {
            mm = user != null ? user : pt.initMm();
        } else {
            // arm64: the upper half through TTBR1 (init_mm's root), the lower half through TTBR0,
            // the running mm's root, or the reserved empty table when only the kernel runs.
            mm = va < 0 ? pt.initMm() : user;
        }
        if (mm == null) {
            Translation.Fault f = new Translation.Fault(geo.root());
            pt.log().record("kernel-oops", "BUG: unable to handle page fault for address 0x" + Long.toHexString(va) + " on " + cpu
                    + (pt.arch().isCanonical(va) ? " (user address, no user mm)" : " (non-canonical)"));
            return f;
        }
        Translation t = Translations.translate(pt, mm, va);
        if (t instanceof Translation.Fault) {
            pt.log().record("kernel-oops", "BUG: unable to handle page fault for address 0x" + Long.toHexString(va) + " on " + cpu
                    + " running " + mm + " (no " + ((Translation.Fault) t).level() + " entry)");
        }
        return t;
    }

    /* ---- splitting ---- */

    /**
     * {@code split_kernel_leaf_mapping(start, end)}: nothing to do when the linear map is made of
     * PTEs already; else split under the split mutex with {@code pgd_pgtable_alloc_init_mm}.
     */
    public KmapResult splitKernelLeafMapping(long start, long end) {
        if (!linearMapRequiresBbml2() || linearMapSplitToPtes) {
            return KmapResult.OK;
        }
        if (!cpus.systemSupportsBbml2NoAbort()) {
            // Linux splits the whole map at boot in that case (linear_map_maybe_split_to_ptes) and
            // answers -EBUSY before that: a live split would need BBML2_NOABORT on every CPU.
            return new KmapResult(Errno.EBUSY, "split_kernel_leaf_mapping: not every CPU has BBML2_NOABORT");
        }
        return splitter.splitKernelLeafMapping(start, end, TableAllocators.initMm(pt));
    }

    /** {@code arch_kfence_init_pool}-style: {@code range_split_to_ptes} under the split mutex. */
    public KmapResult rangeSplitToPtes(long start, long end) {
        splitLock.lock();
        try {
            return splitter.rangeSplitToPtes(start, end, TableAllocators.initMm(pt));
        } finally {
            splitLock.unlock();
        }
    }

    /* ---- accessors ---- */

    public Kernel kernel() {
        return kernel;
    }

    public PageTables pageTables() {
        return pt;
    }

    public KernelLayout layout() {
        return layout;
    }

    public Cpus cpus() {
        return cpus;
    }

    public BbmTracker tracker() {
        return tracker;
    }

    public Splitter splitter() {
        return splitter;
    }

    public Walker walker() {
        return walker;
    }

    /** End of the RAM the linear map covers (boot RAM plus hot-added memory below it). */
    public long ramEnd() {
        return ramEnd;
    }

    void extendRam(long end) {
        if (Long.compareUnsigned(end, ramEnd) > 0) {
            ramEnd = end;
        }
    }

    /** The mapped runs of the linear map. */
    public List<Translations.Run> linearRuns() {
        return Translations.runs(pt, walker, pt.initMm(), layout.pageOffset(), layout.linearVa(ramEnd));
    }

    static Errno errnoOf(KmapResult r) {
        return r.errno();
    }
}
