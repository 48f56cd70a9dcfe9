package ptlab.mm;

import ptlab.phys.PhysicalMemory;

/**
 * Data-page references ({@code folio_get}/{@code folio_put}): every mapping of a page holds a
 * reference on its folio's head; the folio returns to the buddy allocator at zero. The zero
 * pages are never counted.
 */
final class Pages {
    private Pages() {}

    static void get(Kernel k, long pfn) {
        if (k.isZeroPfn(pfn)) {
            return;
        }
        PhysicalMemory mem = k.alloc.memory();
        mem.getPage(mem.compoundHead(pfn));
    }

    static void get(Kernel k, long pfn, int n) {
        for (int i = 0; i < n; i++) {
            get(k, pfn);
        }
    }

    static void put(Kernel k, long pfn) {
        if (k.isZeroPfn(pfn)) {
            return;
        }
        PhysicalMemory mem = k.alloc.memory();
        long head = mem.compoundHead(pfn);
        if (mem.putPage(head) == 0) {
            k.alloc.free(head, mem.orderOf(head));
        }
    }

    static long pfn(Kernel k, long pa) {
        return pa >>> k.geo.pageShift();
    }
}
