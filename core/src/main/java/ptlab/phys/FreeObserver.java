package ptlab.phys;

/**
 * Told of every block given back through {@link BuddyAllocator#free}, before the frames can be
 * allocated again: a debug hook, in the place of the kernel's {@code CONFIG_DEBUG_PAGEALLOC}
 * checks on {@code free_pages}. It runs on the freeing thread, in the freeing context.
 */
@FunctionalInterface
public interface FreeObserver {
    void freeing(long pfn, int order);
}
