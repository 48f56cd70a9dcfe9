package ptlab.mm;

import ptlab.cpu.SimCpu;
import ptlab.phys.InvalidFrameException;
import ptlab.phys.PageDesc;
import ptlab.phys.PhysicalMemory;

/**
 * Data-page references ({@code folio_get}/{@code folio_put}): every mapping of a page holds a
 * reference on its folio's head; the folio returns to the buddy allocator at zero. The zero
 * pages are never counted.
 *
 * <p>A reference taken or dropped on a frame that is no data folio (free, or a live page
 * table) is a refcount bug of the caller: it is recorded as a {@code bad-page-ref} violation
 * naming the caller and the CPU, and the count is left alone (Linux: {@code VM_BUG_ON_PAGE}
 * on {@code page_ref_count == 0}, "Bad page state"). Without this a put on a freed folio
 * would resolve to whatever block now contains the pfn and free it.
 *
 * <p>An order-0 data page, the usual case, is counted through
 * {@link PhysicalMemory#tryGetSmall} / {@link PhysicalMemory#tryPutSmall} (the same checks
 * from one section lookup); any other frame takes the general path, which finds the head of
 * a larger folio or records what is wrong.
 */
final class Pages {
    private Pages() {}

    static void get(Kernel k, long pfn, String caller) {
        if (k.isZeroPfn(pfn)) {
            return;
        }
        PhysicalMemory mem = k.alloc.memory();
        if (mem.tryGetSmall(pfn)) {
            return;
        }
        long head = folioHead(k, pfn, "get", caller);
        if (head >= 0) {
            mem.getPage(head);
        }
    }

    static void get(Kernel k, long pfn, int n, String caller) {
        for (int i = 0; i < n; i++) {
            get(k, pfn, caller);
        }
    }

    static void put(Kernel k, long pfn, String caller) {
        long head = drop(k, pfn, caller);
        if (head >= 0) {
            k.alloc.free(head, k.alloc.memory().orderOf(head));
        }
    }

    /**
     * Drops the reference a mapping of {@code pfn} held on its folio; returns the folio's head
     * if that was the last reference (the caller frees it), else -1. Zero pages are not counted.
     */
    private static long drop(Kernel k, long pfn, String caller) {
        if (k.isZeroPfn(pfn)) {
            return -1;
        }
        int left = k.alloc.memory().tryPutSmall(pfn);
        if (left >= 0) {
            return left == 0 ? pfn : -1;
        }
        return dropGeneral(k, pfn, caller);
    }

    /** {@link #drop} of a frame that is no small data folio: finds its folio's head, or records what is wrong. */
    private static long dropGeneral(Kernel k, long pfn, String caller) {
        long head = folioHead(k, pfn, "put", caller);
        if (head < 0) {
            return -1;
        }
        try {
            return k.alloc.memory().putPage(head) == 0 ? head : -1;
        } catch (InvalidFrameException e) {
            bad(k, "put", pfn, caller, "its folio 0x" + Long.toHexString(head) + " has no reference left");
            return -1;
        }
    }

    /**
     * {@link #put} of each of {@code pfns[0..n)} ({@code folios_put_refs}): the order-0 folios
     * whose last reference goes are freed together ({@link ptlab.phys.BuddyAllocator#freeBulk}),
     * larger ones one by one. Reuses {@code pfns} as scratch.
     */
    static void putAll(Kernel k, long[] pfns, int n, String caller) {
        PhysicalMemory mem = k.alloc.memory();
        int free = 0;
        for (int i = 0; i < n; i++) {
            long pfn = pfns[i];
            if (k.isZeroPfn(pfn)) {
                continue;
            }
            int left = mem.tryPutSmall(pfn);
            if (left >= 0) {
                if (left == 0) {
                    pfns[free++] = pfn; // free <= i: only entries already read are overwritten
                }
                continue;
            }
            long head = dropGeneral(k, pfn, caller); // zero pfn and small folio already handled above
            if (head >= 0) {
                int order = mem.orderOf(head);
                if (order == 0) {
                    pfns[free++] = head; // free <= i: only entries already read are overwritten
                } else {
                    k.alloc.free(head, order);
                }
            }
        }
        k.alloc.freeBulk(pfns, free);
    }

    /** The head of the data folio holding {@code pfn}, or -1 after recording why there is none. */
    private static long folioHead(Kernel k, long pfn, String op, String caller) {
        PhysicalMemory mem = k.alloc.memory();
        long head = mem.compoundHead(pfn);
        if (head < 0) {
            bad(k, op, pfn, caller, "the frame is free");
            return -1;
        }
        PageDesc d = mem.descOrNull(head);
        if (d != null && !d.poisoned()) {
            bad(k, op, pfn, caller, "the frame is a live page table");
            return -1;
        }
        if (mem.refcount(head) <= 0) {
            bad(k, op, pfn, caller, "its folio 0x" + Long.toHexString(head) + " has refcount " + mem.refcount(head));
            return -1;
        }
        return head;
    }

    private static void bad(Kernel k, String op, long pfn, String caller, String why) {
        k.log.record("bad-page-ref", caller + " on " + SimCpu.current() + ": folio_" + op + " of pfn 0x" + Long.toHexString(pfn)
                + ", but " + why);
    }

    static long pfn(Kernel k, long pa) {
        return pa >>> k.geo.pageShift();
    }
}
