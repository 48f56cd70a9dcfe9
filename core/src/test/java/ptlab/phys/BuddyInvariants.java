package ptlab.phys;

import java.util.ArrayList;
import java.util.List;
import java.util.TreeMap;

/**
 * The buddy allocator's invariant checker, built only on its public API so the same checks
 * can run against any state a test reaches ({@code mm/page_alloc.c}'s {@code check_free_page}
 * and {@code __free_one_page} assertions, gathered in one place).
 *
 * <ul>
 *   <li>every free block is aligned to its order, lies below the untouched mark, and no two
 *       free blocks overlap;</li>
 *   <li>list lengths equal the counts in {@link BuddyAllocator#freeState()};</li>
 *   <li>merging is complete: no free block's buddy is a free block of the same order, and no
 *       free max-order block sits directly below the mark;</li>
 *   <li>conservation: free-list frames plus frames above the mark equal
 *       {@link BuddyAllocator#freeFrames()}, and {@code allocated + free == frames};</li>
 *   <li>{@link BuddyAllocator#isFree} and {@link PhysicalMemory#isAllocated} agree with the lists.</li>
 * </ul>
 */
final class BuddyInvariants {
    private BuddyInvariants() {}

    /** Returns the broken invariants, empty if none. */
    static List<String> problems(BuddyAllocator a) {
        List<String> out = new ArrayList<>();
        PhysicalMemory mem = a.memory();
        List<Long> state = a.freeState();
        long untouched = state.get(BuddyAllocator.MAX_ORDER + 1);
        TreeMap<Long, Integer> free = new TreeMap<>();
        long listFrames = 0;
        for (int k = 0; k <= BuddyAllocator.MAX_ORDER; k++) {
            List<Long> list = a.freeList(k);
            if (list.size() != state.get(k)) {
                out.add("order " + k + ": list has " + list.size() + " blocks, count says " + state.get(k));
            }
            for (long pfn : list) {
                long size = 1L << k;
                if ((pfn & (size - 1)) != 0) {
                    out.add("free block 0x" + Long.toHexString(pfn) + " is not aligned to order " + k);
                }
                if (pfn + size > untouched) {
                    out.add("free block 0x" + Long.toHexString(pfn) + "/" + k + " reaches above the mark 0x" + Long.toHexString(untouched));
                }
                if (free.put(pfn, k) != null) {
                    out.add("free block 0x" + Long.toHexString(pfn) + " is listed twice");
                }
                if (k < BuddyAllocator.MAX_ORDER && list.contains(pfn ^ size) && pfn < (pfn ^ size)) {
                    out.add("free buddies 0x" + Long.toHexString(pfn) + " and 0x" + Long.toHexString(pfn ^ size) + " of order " + k + " were not merged");
                }
                if (k == BuddyAllocator.MAX_ORDER && pfn + size == untouched) {
                    out.add("free max-order block 0x" + Long.toHexString(pfn) + " sits just below the mark and was not absorbed");
                }
                if (mem.isAllocated(pfn)) {
                    out.add("free block 0x" + Long.toHexString(pfn) + " is also allocated");
                }
                if (!a.isFree(pfn) || !a.isFree(pfn + size - 1)) {
                    out.add("isFree disagrees with the free list for block 0x" + Long.toHexString(pfn) + "/" + k);
                }
                listFrames += size;
            }
        }
        long prevEnd = 0;
        for (var e : free.entrySet()) {
            if (e.getKey() < prevEnd) {
                out.add("free block 0x" + Long.toHexString(e.getKey()) + " overlaps the one before it");
            }
            prevEnd = e.getKey() + (1L << e.getValue());
        }
        long expectFree = listFrames + (mem.frames() - untouched);
        if (a.freeFrames() != expectFree) {
            out.add("freeFrames() is " + a.freeFrames() + " but lists + untouched hold " + expectFree);
        }
        if (a.allocatedFrames() + a.freeFrames() != mem.frames()) {
            out.add("allocated " + a.allocatedFrames() + " + free " + a.freeFrames() + " != " + mem.frames() + " frames");
        }
        if (untouched < 0 || untouched > mem.frames() || (untouched & ((1L << BuddyAllocator.MAX_ORDER) - 1)) != 0) {
            out.add("untouched mark 0x" + Long.toHexString(untouched) + " is not a max-order boundary inside RAM");
        }
        return out;
    }

    /** Throws an {@link AssertionError} listing every broken invariant. */
    static void check(BuddyAllocator a) {
        List<String> p = problems(a);
        if (!p.isEmpty()) {
            throw new AssertionError("buddy allocator invariants broken:\n  " + String.join("\n  ", p));
        }
    }

    /** The free state of an allocator that never handed anything out. */
    static List<Long> initialFreeState() {
        List<Long> s = new ArrayList<>();
        for (int k = 0; k <= BuddyAllocator.MAX_ORDER + 1; k++) {
            s.add(0L);
        }
        return s;
    }
}
