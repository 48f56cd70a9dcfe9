package ptlab.phys;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

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
    /** A free order-0 frame in a CPU's cache ({@link PerCpuPages}): not on any buddy list. */
    static final byte PCP = 3;
    /**
     * Opaque access to {@link #state} where a CPU's cache writes it under its own lock while
     * the zone lock holder may read it (see PerCpuPages).
     */
    static final VarHandle STATE = MethodHandles.arrayElementVarHandle(byte[].class);

    final byte[] state;
    final byte[] order;
    final long[] next;
    final long[] prev;
    final int[] refcount;
    /** 1 where the block headed here was allocated movable (user data, {@link Gfp#movable}); valid while allocated. */
    final byte[] movable;
    final PageDesc[] desc;

    Section(int frames) {
        state = new byte[frames];
        order = new byte[frames];
        next = new long[frames];
        prev = new long[frames];
        refcount = new int[frames];
        movable = new byte[frames];
        desc = new PageDesc[frames];
    }
}
