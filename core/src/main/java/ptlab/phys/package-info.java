/**
 * Simulated physical memory, per-frame metadata and the buddy allocator.
 *
 * <p>{@link ptlab.phys.PhysicalMemory} is sparse: a {@code Section} of per-frame metadata
 * exists only once a frame in it was allocated, and only table frames have backing words
 * (read and written through {@link ptlab.phys.Words}). {@link ptlab.phys.PageDesc} is the
 * ptdesc: type, level, owner mm, ptlock, links. {@link ptlab.phys.BuddyAllocator} hands out
 * blocks of {@code 2^order} frames with GFP semantics ({@link ptlab.phys.Gfp}), checks
 * might-sleep against {@link ptlab.cpu.SimCpu}, and lets a
 * {@link ptlab.phys.FaultInjector} fail allocations; failures are typed
 * ({@link ptlab.phys.AllocResult.Failed}), never {@code null}. Order-0 frames go through a
 * cache per CPU ({@code PerCpuPages}, the kernel's per-CPU pagesets), refilled and trimmed in
 * batches; {@link ptlab.phys.BuddyAllocator#drainAll()} returns the cached frames.
 *
 * <p>Concurrency: the allocator's lists and section states are guarded by its zone lock
 * ({@code ZoneLock}, a spinlock; nothing is taken inside it). A per-CPU cache has its own lock,
 * taken before the zone lock; the state of a cached frame is written under it and read
 * opaquely by the zone side. Reference counts are atomic. Table words are accessed with the
 * modes {@link ptlab.phys.Words} names.
 */
package ptlab.phys;
