package ptlab.kmap;

import java.util.ArrayList;
import java.util.List;
import ptlab.arch.Geometry;
import ptlab.arch.Level;
import ptlab.arch.PageProt;
import ptlab.arch.PteFormat;
import ptlab.pgtable.Mm;
import ptlab.pgtable.PageTables;
import ptlab.phys.PageDesc;
import ptlab.walk.Action;
import ptlab.walk.WalkCursor;
import ptlab.walk.WalkOps;
import ptlab.walk.WalkOptions;
import ptlab.walk.Walker;

/**
 * Reading kernel translations: a hardware-style walk of one address from an mm's root
 * ({@link #translate}), and the canonical list of mapped runs of a range ({@link #runs}) that
 * a split must leave unchanged.
 */
public final class Translations {
    private Translations() {}

    /**
     * Walks {@code va} from {@code mm}'s root as the MMU does (acquire loads, valid entries only).
     */
    public static Translation translate(PageTables pt, Mm mm, long va) {
        Geometry g = pt.geometry();
        PteFormat f = pt.format();
        PageDesc table = mm.pgd();
        for (Level l : g.levels()) {
            long e = PageTables.read(table, g.index(l, va));
            if (f.isNone(e) || !f.isValid(e)) {
                return new Translation.Fault(l);
            }
            if (f.isTable(l, e)) {
                table = pt.child(l, e);
                continue;
            }
            long size = g.entrySize(l);
            return new Translation.Mapped(f.outputAddress(l, e) + (va & (size - 1)), l, f.prot(l, e));
        }
        throw new IllegalStateException("walk of 0x" + Long.toHexString(va) + " ran past the PTE level");
    }

    /**
     * One run of pages mapped to consecutive physical addresses with the same protection.
     *
     * @param va   first address
     * @param pa   its physical address
     * @param size bytes
     * @param prot protection of every page of the run
     */
    public record Run(long va, long pa, long size, PageProt prot) {}

    /**
     * The mapped runs of {@code [start, end)} of {@code mm}, maximal (adjacent leaves with
     * consecutive output and equal protection are merged), independent of leaf sizes and of
     * contiguous bits: two page tables that translate every page the same give equal lists.
     */
    public static List<Run> runs(PageTables pt, Walker walker, Mm mm, long start, long end) {
        PteFormat f = pt.format();
        List<Run> out = new ArrayList<>();
        walker.walk(mm, start, end, new WalkOps() {
            private void add(long va, long pa, long size, PageProt prot) {
                if (!out.isEmpty()) {
                    Run last = out.get(out.size() - 1);
                    if (last.va() + last.size() == va && last.pa() + last.size() == pa && last.prot().equals(prot)) {
                        out.set(out.size() - 1, new Run(last.va(), last.pa(), last.size() + size, prot));
                        return;
                    }
                }
                out.add(new Run(va, pa, size, prot));
            }

            @Override
            public Action hugeLeaf(WalkCursor c) {
                long e = c.entry();
                if (f.isValid(e)) {
                    long size = pt.geometry().entrySize(c.level());
                    long off = c.addr() & (size - 1);
                    add(c.addr(), f.outputAddress(c.level(), e) + off, c.end() - c.addr(), f.prot(c.level(), e));
                }
                return Action.CONTINUE;
            }

            @Override
            public Action pteRange(WalkCursor c, PageDesc table, int from, int to, long addr, long pageSize) {
                for (int i = from; i < to; i++, addr += pageSize) {
                    long e = PageTables.read(table, i);
                    if (!f.isNone(e) && f.isValid(e)) {
                        add(addr, f.outputAddress(Level.PTE, e), pageSize, f.prot(Level.PTE, e));
                    }
                }
                return Action.CONTINUE;
            }
        }, WalkOptions.UNLOCKED);
        return out;
    }
}
