package ptlab.range;

import java.util.function.LongUnaryOperator;
import ptlab.arch.Level;
import ptlab.arch.PageProt;
import ptlab.arch.PteFormat;
import ptlab.cpu.SpinLock;
import ptlab.pgtable.EntryUpdates;
import ptlab.pgtable.Mm;
import ptlab.pgtable.PageTables;
import ptlab.phys.PageDesc;
import ptlab.phys.Words;
import ptlab.walk.Action;
import ptlab.walk.WalkCursor;
import ptlab.walk.WalkOps;

/**
 * {@code change_protection} for raw ranges: every present leaf (PTE or whole huge leaf) gets
 * {@code prot}, keeping its accessed and dirty state ({@code pte_modify} keeps
 * {@code _PAGE_CHG_MASK}). The four accessed/dirty variants of {@code prot} are built once.
 */
final class ProtectVisitor implements WalkOps {
    private final PageTables pt;
    private final PteFormat fmt;
    private final Mm mm;
    /** {@code prot} with (young, dirty) = index bits 1 and 0. */
    private final PageProt[] variants = new PageProt[4];
    /** PTE templates: {@code mkLeaf(PTE, 0, variants[i])}, when the format composes as template | address bits. */
    private final long[] templates = new long[4];
    /** The PTE bits that carry the output address, or 0 if the fast path does not hold for this format. */
    private final long addrBits;
    private final LongUnaryOperator remakePte = e -> remake(Level.PTE, e);
    long changed;

    ProtectVisitor(PageRanges r, Mm mm, PageProt prot) {
        this.pt = r.pt;
        this.fmt = pt.format();
        this.mm = mm;
        for (int i = 0; i < 4; i++) {
            variants[i] = prot.withYoung((i & 2) != 0).withDirty((i & 1) != 0);
            templates[i] = fmt.mkLeaf(Level.PTE, 0, variants[i]);
        }
        this.addrBits = addressBits();
    }

    /**
     * The fast path {@code pte_modify}: new = template | (old & address bits). It is used only
     * if it reproduces {@code mkLeaf} exactly for every variant at a spread of addresses;
     * otherwise every PTE takes the decode/encode path.
     */
    private long addressBits() {
        int bits = fmt.physAddrBits();
        long page = pt.geometry().pageSize();
        long maxPa = (bits >= 64 ? -1L : (1L << bits) - 1) & -page;
        long mask = fmt.mkLeaf(Level.PTE, maxPa, variants[0]) & ~templates[0];
        long[] samples = {page, maxPa, 0x1234_5000L & -page & maxPa, maxPa & 0x5555_5555_5555_5000L & -page,
            maxPa & 0xaaaa_aaaa_aaaa_a000L & -page};
        for (int i = 0; i < 4; i++) {
            for (long pa : samples) {
                long want = fmt.mkLeaf(Level.PTE, pa, variants[i]);
                if ((templates[i] | (want & mask)) != want || fmt.outputAddress(Level.PTE, want) != pa) {
                    return 0;
                }
            }
        }
        return mask;
    }

    private long remake(Level level, long e) {
        int v = (fmt.isYoung(e) ? 2 : 0) | (fmt.isDirty(e) ? 1 : 0);
        if (level == Level.PTE && addrBits != 0) {
            return templates[v] | (e & addrBits);
        }
        return fmt.mkLeaf(level, fmt.outputAddress(level, e), variants[v]);
    }

    @Override
    public Action hugeLeaf(WalkCursor c) {
        SpinLock l = LeafLocks.of(pt, mm, c.level(), c.table());
        l.lock();
        try {
            long e = c.reread();
            if (fmt.isLeaf(c.level(), e)) {
                // change_huge_pmd: one atomic replacement built from the value it replaces, so
                // the MMU never sees a mix and an A/D it sets after the read above is kept (a
                // clear-then-set from the read lost it, as the THP split did).
                Level level = c.level();
                EntryUpdates.update(fmt, c.table().words(), c.index(), e, old -> remake(level, old));
                changed++;
            }
        } finally {
            l.unlock();
        }
        return Action.CONTINUE;
    }

    @Override
    public Action pteRange(WalkCursor c, PageDesc table, int from, int to, long addr, long pageSize) {
        long[] w = table.words();
        for (int i = from; i < to; i++) {
            long e = Words.getAcquire(w, i);
            if (fmt.isPresent(e)) {
                // ptep_modify_prot_start/commit as one compare-and-exchange, rebuilt from the
                // witness if a hardware A/D update raced it (one release store when none can).
                EntryUpdates.update(fmt, w, i, e, remakePte);
                changed++;
            }
        }
        return Action.CONTINUE;
    }
}
