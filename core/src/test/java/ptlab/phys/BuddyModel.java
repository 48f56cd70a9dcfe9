package ptlab.phys;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Reference model of the buddy allocator: the set of live blocks, and from it the free state
 * an eagerly merging buddy allocator must be in. With eager merging that state is a function
 * of the live set alone: every max-order block below the mark splits into the maximal aligned
 * blocks that hold no live frame, and the mark sits just above the highest max-order block
 * that holds one. Comparing lists against this is the strongest oracle a test can have.
 */
final class BuddyModel {
    private final long frames;
    /** Live blocks: head pfn → order. */
    private final TreeMap<Long, Integer> live = new TreeMap<>();
    /** Live heads in allocation order, so a "free the i-th" op is stable under shrinking. */
    private final List<Long> order = new ArrayList<>();

    BuddyModel(long frames) {
        this.frames = frames;
    }

    int liveCount() {
        return order.size();
    }

    long liveFrames() {
        long n = 0;
        for (int k : live.values()) {
            n += 1L << k;
        }
        return n;
    }

    /** Records a block the allocator handed out; returns why it is wrong, or {@code null}. */
    String add(long pfn, int k) {
        long size = 1L << k;
        if ((pfn & (size - 1)) != 0) {
            return "block 0x" + Long.toHexString(pfn) + " is not aligned to order " + k;
        }
        if (pfn < 0 || pfn + size > frames) {
            return "block 0x" + Long.toHexString(pfn) + "/" + k + " is outside RAM";
        }
        Map.Entry<Long, Integer> below = live.floorEntry(pfn + size - 1);
        if (below != null && below.getKey() + (1L << below.getValue()) > pfn) {
            return "block 0x" + Long.toHexString(pfn) + "/" + k + " overlaps live block 0x"
                    + Long.toHexString(below.getKey()) + "/" + below.getValue();
        }
        live.put(pfn, k);
        order.add(pfn);
        return null;
    }

    /** Removes and returns the {@code i mod n}-th live block as {@code {pfn, order}}. */
    long[] removeAt(int i) {
        long pfn = order.remove(Math.floorMod(i, order.size()));
        int k = live.remove(pfn);
        return new long[] {pfn, k};
    }

    List<long[]> liveBlocks() {
        List<long[]> out = new ArrayList<>();
        for (long pfn : order) {
            out.add(new long[] {pfn, live.get(pfn)});
        }
        return out;
    }

    boolean covers(long pfn) {
        Map.Entry<Long, Integer> e = live.floorEntry(pfn);
        return e != null && e.getKey() + (1L << e.getValue()) > pfn;
    }

    private boolean anyLiveIn(long start, long size) {
        Map.Entry<Long, Integer> e = live.floorEntry(start + size - 1);
        return e != null && e.getKey() + (1L << e.getValue()) > start;
    }

    /** The mark an allocator with exactly these live blocks must have. */
    long expectedUntouched() {
        if (live.isEmpty()) {
            return 0;
        }
        long top = live.lastKey();
        long block = 1L << BuddyAllocator.MAX_ORDER;
        return (top & -block) + block;
    }

    /** Free blocks per order (sorted heads) the allocator must hold for these live blocks. */
    List<List<Long>> expectedFreeLists() {
        List<List<Long>> out = new ArrayList<>();
        for (int k = 0; k <= BuddyAllocator.MAX_ORDER; k++) {
            out.add(new ArrayList<>());
        }
        long block = 1L << BuddyAllocator.MAX_ORDER;
        for (long b = 0; b < expectedUntouched(); b += block) {
            split(b, BuddyAllocator.MAX_ORDER, out);
        }
        return out;
    }

    private void split(long pfn, int k, List<List<Long>> out) {
        if (!anyLiveIn(pfn, 1L << k)) {
            out.get(k).add(pfn);
            return;
        }
        Integer o = live.get(pfn);
        if (o != null && o == k) {
            return;
        }
        split(pfn, k - 1, out);
        split(pfn + (1L << (k - 1)), k - 1, out);
    }
}
