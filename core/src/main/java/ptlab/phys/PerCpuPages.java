package ptlab.phys;

/**
 * One CPU's cache of free order-0 frames for one allocator ({@code struct per_cpu_pages}):
 * order-0 allocations and frees take only this cache's lock ({@code pcp->lock}); the zone lock
 * is taken once per {@link #BATCH} frames, to refill an empty cache ({@code rmqueue_bulk}) or
 * to give back the coldest frames of one that grew past its {@code high}
 * ({@code free_pcppages_bulk}).
 */
/*
 * Implementation notes.
 *
 * Why (as in the kernel): two CPUs faulting disjoint PMDs took the zone lock for every data
 * page, and the frames they got alternated, so every metadata write bounced a host cache line
 * between them: two threads did 1/7 the work of one (FaultInBench). With a cache per CPU each
 * takes batches of neighbouring frames and the zone lock 1/63 as often.
 *
 * Frames in a cache are free: their Section state is PCP (neither allocated nor on a buddy
 * list, so a freed buddy never merges with them, as a PCP page is not PageBuddy), they count
 * as free in allocatedFrames() and isFree(), and drainAll (drain_all_pages) returns them to
 * the lists: before reporting the free lists, and when the zone has nothing for a refill. The
 * state byte of a cached frame is written under this lock while the zone lock holder may read
 * it (a buddy check), so those accesses are opaque (Section.STATE).
 *
 * Lock order: this lock, then the zone lock; never the other way.
 *
 * The cache is a ring used as a stack: the hottest (last freed) frame on top, handed out
 * first; a refill puts the first frame taken on top, so a fresh cache hands out frames in the
 * zone's order; a trim gives back the bottom (coldest) BATCH without moving the rest (a
 * shifting array moved up to 64 KiB per trim: half a second of a 4 GiB replay).
 */
final class PerCpuPages {
    /** {@code pcp->batch} for a large zone. */
    static final int BATCH = 63;
    /** The smallest {@code pcp->high} (the kernel's floor is 4 x batch; ptlab's 6 x batch). */
    static final int MIN_HIGH = 6 * BATCH;
    /** The largest (a 64 GiB machine's frames / 256 would be 65536). */
    static final int MAX_HIGH = 8192;

    final ZoneLock lock = new ZoneLock();
    /** {@code pcp->high}: a cache that grows past this gives back {@link #BATCH} frames. */
    private final int high;
    /** A ring: the coldest frame at {@code bottom}, the hottest at {@code bottom + count - 1}. */
    private final long[] ring;
    private int bottom;
    private int count;
    /** Scratch for one batch handed to the zone. */
    private final long[] batch = new long[BATCH];
    /** Allocations and frees served by this cache (under {@link #lock}). */
    long allocations;
    long frees;

    PerCpuPages(int high) {
        this.high = high;
        this.ring = new long[high + 1];
    }

    /**
     * {@code pcp->high} for a zone of {@code frames}: 1/256 of it, within
     * [{@link #MIN_HIGH}, {@link #MAX_HIGH}]. The kernel tunes high between high_min and
     * high_max from the zone's watermarks (this machine's 24 GiB Normal zone: high_min 7208,
     * high 14035 to 30676 per CPU in /proc/zoneinfo); a fixed share keeps runs reproducible.
     */
    static int highFor(long frames) {
        return (int) Math.max(MIN_HIGH, Math.min(MAX_HIGH, frames / 256));
    }

    /** An order-0 frame, allocated movable or not ({@link Gfp#movable}), or {@code -1} if the zone could not refill this cache. */
    long take(BuddyAllocator zone, boolean movable) {
        lock.lock();
        try {
            if (count == 0) {
                // Refill: the first frame taken ends on top, so a fresh cache hands out frames in the zone's order.
                bottom = 0;
                count = zone.rmqueueBulk(ring, BATCH);
                if (count == 0) {
                    return -1;
                }
            }
            count--;
            long pfn = ring[slot(count)];
            zone.markAllocated(pfn, movable);
            allocations++;
            return pfn;
        } finally {
            lock.unlock();
        }
    }

    /**
     * Up to {@code n} order-0 frames into {@code into[from..from + n)} under one hold of the
     * lock, each as {@link #take} hands it out; returns how many (fewer only when the zone could
     * not refill this cache).
     */
    int takeBulk(BuddyAllocator zone, long[] into, int from, int n, boolean movable) {
        lock.lock();
        try {
            int got = 0;
            while (got < n) {
                if (count == 0) {
                    bottom = 0;
                    count = zone.rmqueueBulk(ring, BATCH);
                    if (count == 0) {
                        break;
                    }
                }
                count--;
                long pfn = ring[slot(count)];
                zone.markAllocated(pfn, movable);
                into[from + got++] = pfn;
            }
            allocations += got;
            return got;
        } finally {
            lock.unlock();
        }
    }

    /**
     * Frees the order-0 frames {@code pfns[0..n)} into this cache under one lock hold
     * ({@code free_unref_folios}); a bad frame throws, leaving the frames before it freed.
     */
    void giveAll(BuddyAllocator zone, long[] pfns, int n) {
        lock.lock();
        try {
            for (int i = 0; i < n; i++) {
                push(zone, pfns[i]);
            }
        } finally {
            lock.unlock();
        }
    }

    /** Frees an order-0 frame into this cache. */
    void give(BuddyAllocator zone, long pfn) {
        lock.lock();
        try {
            push(zone, pfn);
        } finally {
            lock.unlock();
        }
    }

    /** One free into the cache, lock held: on top of the ring; past {@code high}, a batch goes back. */
    private void push(BuddyAllocator zone, long pfn) {
        zone.markCached(pfn); // checks that pfn is an allocated order-0 block first
        ring[slot(count)] = pfn;
        count++;
        frees++;
        if (count > high) {
            giveBack(zone, BATCH);
        }
    }

    /** Gives every cached frame back to the zone ({@code drain_pages_zone}). */
    void drain(BuddyAllocator zone) {
        lock.lock();
        try {
            while (count > 0) {
                giveBack(zone, Math.min(BATCH, count));
            }
        } finally {
            lock.unlock();
        }
    }

    /** The {@code n} coldest frames back to the zone ({@code free_pcppages_bulk}); lock held. */
    private void giveBack(BuddyAllocator zone, int n) {
        for (int i = 0; i < n; i++) {
            batch[i] = ring[slot(i)];
        }
        zone.releaseBulk(batch, n);
        bottom = slot(n);
        count -= n;
    }

    /** Ring index of the {@code i}th frame from the bottom. */
    private int slot(int i) {
        int j = bottom + i;
        return j >= ring.length ? j - ring.length : j;
    }

    /** Frames cached now. */
    int count() {
        lock.lock();
        try {
            return count;
        } finally {
            lock.unlock();
        }
    }
}
