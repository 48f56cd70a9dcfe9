package ptlab.mmu;

import java.util.List;
import ptlab.arch.Level;
import ptlab.phys.BuddyAllocator;
import ptlab.phys.FreeObserver;

/**
 * A debug check that no TLB still translates to a frame as it is freed: the order
 * {@code mmu_gather} exists for, for data pages as for tables (unhook, flush, then free). A
 * frame freed before its flush could be allocated again while another CPU still writes
 * through its stale entry; the stale-TLB audit cannot see that, because by the time it runs
 * the flush has completed.
 *
 * <p>Every block given back to the allocator is looked up in every CPU's TLB; an entry that
 * maps any of its frames is a {@code tlb-maps-freed-frame} violation, unless that CPU has
 * shootdowns queued that it has not applied yet: it applies them before it translates again
 * or switches mm, so the entry can never be used (a flusher stops waiting for a CPU that went
 * offline or switched to another ASID: lazy TLB, PCID/ASID switching).
 *
 * <p>Cost: a scan of every TLB per free, so for tests and {@code ptlab simulate}. The check
 * may miss (a queued request that does not cover the entry hides it; a fill that lands after
 * the scan is not seen), never invent.
 */
/*
 * Implementation notes. The CPUs' TLB words are read from the freeing thread with plain loads,
 * as the stale-TLB audit reads them, so a pair [key, pa|rights] being filled may be seen torn.
 * An emptied entry has pa word 0 (CpuMmu clears both words), so a new key with the word of an
 * emptied slot shows no rights and is skipped; a new key with the pa of the entry it evicts
 * shows a translation that was cached and never flushed, a real report. A pa seen with an old
 * key is one the CPU is filling now from tables that still map it, and a flush that removes
 * it must wait for this CPU's ack, which comes only after the fill is dropped. Fills that land
 * after the scan are not seen: the check may miss, never invent.
 */
public final class FreedFrameCheck implements FreeObserver {
    private final Mmu mmu;
    private final int pageShift;
    private final long[] entrySizes;

    private FreedFrameCheck(Mmu mmu) {
        this.mmu = mmu;
        this.pageShift = mmu.arch().geometry().pageShift();
        List<Level> levels = mmu.arch().geometry().levels();
        entrySizes = new long[levels.size()];
        for (int i = 0; i < entrySizes.length; i++) {
            entrySizes[i] = mmu.arch().geometry().entrySize(levels.get(i));
        }
    }

    /** Checks every free of {@code alloc} against the TLBs of {@code mmu}'s CPUs from now on. */
    public static FreedFrameCheck install(Mmu mmu, BuddyAllocator alloc) {
        FreedFrameCheck c = new FreedFrameCheck(mmu);
        alloc.setFreeObserver(c);
        return c;
    }

    @Override
    public void freeing(long pfn, int order) {
        long lo = pfn << pageShift;
        long hi = (pfn + (1L << order)) << pageShift;
        for (CpuMmu c : mmu.cpus()) {
            if (c.hasQueuedFlushes()) {
                continue;
            }
            c.forEachEntry((va, asid, li, pa, rights) -> {
                if (rights != 0 && pa < hi && pa + entrySizes[li] > lo) {
                    mmu.pageTables().log().record("tlb-maps-freed-frame", c + " still caches asid " + asid + " va 0x" + Long.toHexString(va)
                            + " -> pa 0x" + Long.toHexString(pa) + " as pfn 0x" + Long.toHexString(pfn) + " (order " + order
                            + ") is freed: freed before the TLB flush");
                }
            });
        }
    }
}
