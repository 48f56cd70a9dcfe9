package ptlab.kmap;

import ptlab.arch.Level;
import ptlab.mm.Errno;
import ptlab.pgtable.PgtblMask;
import ptlab.pgtable.PageTables;
import ptlab.phys.PageDesc;

/**
 * {@code arch_add_memory(nid, start, size)}: extend the linear map over new RAM
 * ({@code init_memory_mapping}), populate its vmemmap ({@code __add_pages} →
 * {@code vmemmap_populate}) and initialise the new struct pages ({@code memmap_init_range},
 * which writes through vmemmap). Tables come from the normal init_mm path (with ctor). A
 * populate that touched a level in {@code ARCH_PAGE_TABLE_SYNC_MASK} must be followed by
 * {@code arch_sync_kernel_mappings} - that is what {@code pgd_populate_kernel}/
 * {@code p4d_populate_kernel} do (seed 001) - before any CPU running a user mm touches the
 * range. {@link Order} reproduces the two bug classes seed 001 names.
 */
/*
 * Implementation notes. New physical memory lies above the simulated RAM: its frames are never
 * allocated, only mapped (data frames need no backing). Its vmemmap backing does come from the
 * allocator. Struct pages are "touched" once per vmemmap page through KernelMappings.access
 * on the calling CPU, with whatever mm that CPU runs: on x86 a user PGD whose kernel half lacks
 * the new top-level entry misses. On failure the UndoLog unwinds everything (user-PGD copies
 * included) and the kernel range is flushed.
 */
public final class MemoryHotplug {
    /** Fault-injection site name prefix of hot-add allocations (tables use {@link TableAllocators#SITE_INIT_MM}). */
    public static final String SITE = KernelMappings.SITE_VMEMMAP;

    /** Order of populate, sync and first touch. */
    public enum Order {
        /** populate (+sync) the linear map, populate (+sync) vmemmap, then touch: the fixed kernel. */
        FIXED,
        /** populate both without any sync (commit 4917f55b4ef9's class): user PGDs never see them. */
        NO_SYNC,
        /** populate vmemmap, touch it, then sync (commit 8d400913c231's class). */
        TOUCH_BEFORE_SYNC
    }

    private final KernelMappings km;
    /** init_mm's root before the current hot-add: only entries new to it are un-synced on undo. */
    private long[] rootBefore;

    public MemoryHotplug(KernelMappings km) {
        this.km = km;
    }

    /** The hot-plug granule ({@code memory_block_size_bytes}/section): 128 MiB with 4K pages, 512 MiB otherwise. */
    public long granule() {
        return km.geo.pageShift() == 12 ? 128L << 20 : 512L << 20;
    }

    /** Adds {@code [start, start + size)} of physical memory. */
    public synchronized KmapResult addMemory(long start, long size, Order order) {
        long g = granule();
        if (size <= 0 || (start & (g - 1)) != 0 || (size & (g - 1)) != 0) {
            return KmapResult.invalid("hot-add range [0x" + Long.toHexString(start) + ", +0x" + Long.toHexString(size)
                    + ") is not aligned to the " + (g >> 20) + " MiB memory block");
        }
        if (Long.compareUnsigned(start, km.pt.config().ramBytes()) < 0
                || Long.compareUnsigned(start + size, start) <= 0 // wraps past 2^64
                || Long.compareUnsigned(km.layout.linearVa(start + size) - 1, km.layout.linearEnd() - 1) > 0
                || (start + size) >>> km.pt.format().physAddrBits() != 0) {
            return KmapResult.invalid("hot-add range [0x" + Long.toHexString(start) + ", +0x" + Long.toHexString(size)
                    + ") overlaps boot RAM or leaves the linear map / physical address space");
        }
        UndoLog undo = new UndoLog(km.pt);
        PgtableAllocFn alloc = undo.wrap(TableAllocators.initMm(km.pt));
        long linStart = km.layout.linearVa(start);
        long startPfn = start >>> km.geo.pageShift();
        long endPfn = (start + size) >>> km.geo.pageShift();
        long vmStart = km.layout.structPageVa(startPfn);
        long vmEnd = km.layout.structPageVa(endPfn);
        boolean sync = order != Order.NO_SYNC;
        rootBefore = km.pt.initMm().pgd().words().clone();

        PgtblMask linMask = new PgtblMask();
        KmapResult r = km.mapLinear(start, size, alloc, undo, linMask);
        if (r.ok() && sync) {
            sync(linStart, linStart + size, linMask, undo);
        }
        PgtblMask vmMask = new PgtblMask();
        if (r.ok()) {
            r = km.populateVmemmap(startPfn, endPfn, alloc, false, undo, vmMask);
        }
        if (!r.ok()) {
            undo.undo();
            km.tracker.flushKernelRange(km.pt.arch().kernelBase(), -1L);
            return r;
        }
        if (order == Order.FIXED) {
            sync(vmStart, vmEnd, vmMask, undo);
        }
        undo.commit();
        km.extendRam(start + size);
        KmapResult touched = touch(vmStart, vmEnd);
        if (order == Order.TOUCH_BEFORE_SYNC) {
            sync(vmStart, vmEnd, vmMask, null);
        }
        return touched;
    }

    /** {@code memmap_init_range}: one store per vmemmap page, on the calling CPU. */
    private KmapResult touch(long start, long end) {
        long page = km.geo.pageSize();
        for (long va = start & -page; Long.compareUnsigned(va, end) < 0; va += page) {
            if (km.access(va) instanceof Translation.Fault) {
                return new KmapResult(Errno.EFAULT, "oops touching struct page at 0x" + Long.toHexString(va));
            }
        }
        return KmapResult.OK;
    }

    /** {@code arch_sync_kernel_mappings} if the populate touched a synced level, remembering the copies. */
    private void sync(long start, long end, PgtblMask mask, UndoLog undo) {
        if (!mask.intersects(km.pt.arch().syncMask())) {
            return;
        }
        km.pt.kernelHalf().syncKernelMappings(start, end);
        if (undo != null) {
            Level root = km.geo.root();
            PageDesc pgd = km.pt.initMm().pgd();
            for (int i = km.geo.index(root, start); i <= km.geo.index(root, end - 1); i++) {
                if (km.pt.format().isNone(rootBefore[i])) {
                    undo.synced(i, PageTables.read(pgd, i));
                }
            }
        }
    }
}
