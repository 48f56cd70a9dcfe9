package ptlab.phys;

/**
 * Metadata for {@link PhysicalMemory#SECTION_FRAMES} consecutive frames (the SPARSEMEM
 * {@code mem_section}), created when the allocator first hands out one of its frames. The
 * primitive arrays are the buddy allocator's (guarded by its lock) plus a per-frame reference
 * count; {@link #desc} holds a {@link PageDesc} for frames that are or were tables.
 */
final class Section {
    static final byte UNUSED = 0;
    static final byte FREE_HEAD = 1;
    static final byte ALLOCATED_HEAD = 2;

    final byte[] state;
    final byte[] order;
    final long[] next;
    final long[] prev;
    final int[] refcount;
    final PageDesc[] desc;

    Section(int frames) {
        state = new byte[frames];
        order = new byte[frames];
        next = new long[frames];
        prev = new long[frames];
        refcount = new int[frames];
        desc = new PageDesc[frames];
    }
}
