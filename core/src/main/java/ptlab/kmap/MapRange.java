package ptlab.kmap;

import java.util.List;
import ptlab.arch.Geometry;
import ptlab.arch.Level;
import ptlab.arch.PageProt;
import ptlab.arch.PteFormat;
import ptlab.arch.TableKind;
import ptlab.mm.Errno;
import ptlab.pgtable.Mm;
import ptlab.pgtable.PageTables;
import ptlab.pgtable.PgtblMask;
import ptlab.phys.PageDesc;
import ptlab.walk.Action;
import ptlab.walk.WalkCursor;
import ptlab.walk.WalkOps;

/**
 * {@code __create_pgd_mapping} as a walk visitor: maps {@code [va, va + size)} to {@code pa}
 * with the largest leaves allowed ({@code alloc_init_pud}/{@code alloc_init_cont_pmd}/
 * {@code alloc_init_cont_pte}), contiguous runs where enabled, tables from a
 * {@link PgtableAllocFn}. A hole too large or misaligned for a leaf gets a new table, populated
 * with the kernel table attributes, and the walk goes into it ({@link Action#AGAIN}).
 */
/*
 * Implementation notes. The new table is zeroed (and constructed, if the allocator does so)
 * before BbmTracker.write publishes it with a release store. A CONT leaf is written only when
 * its whole aligned group lies inside the range with aligned output, so every entry of the
 * group carries CONT (the arm64 rule). An entry already present is EEXIST: mappings are only
 * created over holes.
 */
final class MapRange implements WalkOps {
    private final PageTables pt;
    private final Geometry geo;
    private final PteFormat fmt;
    private final BbmTracker writer;
    private final Mm mm;
    private final long va;
    private final long end;
    private final long pa;
    private final PageProt prot;
    private final PgtableAllocFn alloc;
    private final List<Level> leafLevels;
    private final boolean cont;
    private final UndoLog undo;
    private final PgtblMask mask;
    KmapResult result = KmapResult.OK;

    MapRange(PageTables pt, BbmTracker writer, Mm mm, long va, long size, long pa, PageProt prot, PgtableAllocFn alloc,
            List<Level> leafLevels, boolean cont, UndoLog undo, PgtblMask mask) {
        this.pt = pt;
        this.geo = pt.geometry();
        this.fmt = pt.format();
        this.writer = writer;
        this.mm = mm;
        this.va = va;
        this.end = va + size;
        this.pa = pa;
        this.prot = prot;
        this.alloc = alloc;
        this.leafLevels = leafLevels;
        this.cont = cont;
        this.undo = undo;
        this.mask = mask;
    }

    private long paOf(long addr) {
        return pa + (addr - va);
    }

    @Override
    public Action hugeLeaf(WalkCursor c) {
        result = new KmapResult(Errno.EEXIST, c.level() + " leaf already maps 0x" + Long.toHexString(c.addr()));
        return Action.STOP;
    }

    @Override
    public Action hole(WalkCursor c) {
        Level l = c.level();
        long size = geo.entrySize(l);
        long addr = c.addr();
        if (!fmt.isNone(c.entry())) {
            result = new KmapResult(Errno.EEXIST, l + " entry 0x" + Long.toHexString(c.entry()) + " in the way at 0x" + Long.toHexString(addr));
            return Action.STOP;
        }
        if (leafLevels.contains(l) && (addr & (size - 1)) == 0 && c.end() - addr == size && (paOf(addr) & (size - 1)) == 0) {
            store(c.table(), c.index(), l, addr, leaf(l, addr));
            return Action.CONTINUE;
        }
        Level lower = geo.levels().get(geo.levels().indexOf(l) + 1);
        TableAlloc r = alloc.alloc(lower);
        if (r instanceof TableAlloc.Failed) {
            result = KmapResult.noMemory(((TableAlloc.Failed) r).reason());
            return Action.STOP;
        }
        PageDesc t = ((TableAlloc.Table) r).desc();
        if (!mm.isInitMm() && pt.countedInVmPte(lower)) {
            pt.accountTable(mm, lower, +1);
            if (undo != null) {
                undo.accounted(mm, lower);
            }
        }
        store(c.table(), c.index(), l, addr, fmt.mkTable(l, pt.pa(t), TableKind.KERNEL));
        if (mask != null) {
            // PGTBL_*_MODIFIED names the populated level (p4d_populate writes the PGD when P4D is folded).
            mask.add(lower.upper());
        }
        return Action.AGAIN;
    }

    @Override
    public Action pteRange(WalkCursor c, PageDesc table, int from, int to, long addr, long pageSize) {
        for (int i = from; i < to; i++, addr += pageSize) {
            long old = PageTables.read(table, i);
            if (!fmt.isNone(old)) {
                result = new KmapResult(Errno.EEXIST, "PTE 0x" + Long.toHexString(old) + " already maps 0x" + Long.toHexString(addr));
                return Action.STOP;
            }
            store(table, i, Level.PTE, addr, leaf(Level.PTE, addr));
        }
        return Action.CONTINUE;
    }

    private long leaf(Level l, long addr) {
        long e = fmt.mkLeaf(l, paOf(addr), prot);
        int n = geo.contiguousEntries(l);
        if (cont && n > 0) {
            long group = geo.entrySize(l) * n;
            long gs = addr & -group;
            if (Long.compareUnsigned(gs, va) >= 0 && Long.compareUnsigned(gs + group - 1, end - 1) <= 0
                    && (paOf(gs) & (group - 1)) == 0) {
                e = fmt.mkCont(e);
            }
        }
        return e;
    }

    private void store(PageDesc table, int index, Level l, long addr, long value) {
        if (undo != null) {
            undo.stored(table, index, PageTables.read(table, index));
        }
        writer.write(table, index, l, addr, value, false);
    }
}
