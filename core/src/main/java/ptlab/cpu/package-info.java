/**
 * Simulated CPUs and kernel locking.
 *
 * <p>A thread is a CPU: {@link ptlab.cpu.SimCpu#current()} is the calling thread's context,
 * with its preemption count, RCU nesting, stop_machine state and held locks. Locks
 * ({@link ptlab.cpu.SpinLock}, {@link ptlab.cpu.Mutex}, {@link ptlab.cpu.RwSemaphore}) are real
 * JDK locks with the kernel's side effects (a spinlock makes the CPU atomic) and a lock-order
 * check against {@link ptlab.cpu.LockClass}.
 *
 * <h2>Lock protocol (written once, asserted at entry points)</h2>
 * mmap_lock → pgtable_split_lock → pgd_lock → page_table_lock → PMD ptl → PTE ptl → zone lock.
 * page_table_lock guards PUD/P4D/PGD population (and PMD/PTE tables where split locks are
 * not configured, in which case the same lock is not taken twice). fork nests the source PTE
 * lock inside the destination's with subclass 1 ({@code SINGLE_DEPTH_NESTING}).
 *
 * <p>Checks report into a {@link ptlab.cpu.ViolationLog}: taking a sleeping lock or making a
 * sleeping allocation in atomic context is a {@code might-sleep} violation. Order breaks throw
 * {@link ptlab.cpu.LockProtocolError}: they are always caller bugs.
 */
package ptlab.cpu;
