/**
 * Kernel mappings: init_mm's linear map, vmalloc area and vmemmap, leaf splitting, memory
 * hot-add, an efi-like special mm, and a ptdump listing ({@code arch/arm64/mm/mmu.c},
 * {@code arch/x86/mm/init_64.c}, {@code mm/sparse-vmemmap.c}, {@code mm/ptdump.c}).
 *
 * <h2>Vocabulary</h2>
 * <em>linear map</em>: {@code [PAGE_OFFSET, PAGE_OFFSET + RAM)} → {@code [0, RAM)};
 * <em>block</em>: a leaf above the PTE level; <em>contiguous run</em>: an aligned group of
 * entries with the CONT hint (arm64); <em>split</em>: a block replaced by a table of smaller
 * leaves with the same translations; <em>pgtable_alloc_fn</em> ({@link ptlab.kmap.PgtableAllocFn}):
 * where a table comes from - memblock (boot, no ctor), init_mm (ctor, no ptlock), special mm
 * (ctor with mm NULL: ptlock) or a preallocated pool ({@link ptlab.kmap.SplitPool}).
 *
 * <h2>Protocols</h2>
 * <ul>
 * <li><b>Publication.</b> A new table is zeroed, filled and constructed before the release
 *     store of its entry ({@code dsb(ishst)} before {@code __pmd_populate}).</li>
 * <li><b>Break-before-make.</b> Every store to a live kernel entry goes through
 *     {@link ptlab.kmap.BbmTracker}: replacing a valid entry by a different valid one needs
 *     invalid → TLB invalidate → new, except a translation-preserving change (split, CONT) on
 *     CPUs with BBML2_NOABORT, or while the others are parked in stop_machine and flushed before
 *     they resume. Violations are {@code bbm} records in the machine's ViolationLog.</li>
 * <li><b>Locks.</b> Splits run under {@code pgtable_split_lock} (a mutex: never from atomic
 *     context) or inside {@link ptlab.kmap.StopMachine} with the other CPUs parked. Kernel walks
 *     are lockless ({@code walk_kernel_page_table_range_lockless}): the caller owns the range.
 *     efi_mm PTE tables are changed under their ptlock ({@code apply_to_page_range}).</li>
 * <li><b>Atomic context.</b> Nothing allocates inside stop_machine on the preallocating path;
 *     the GFP_ATOMIC path is kept to show the PREEMPT_RT might-sleep violation (seed 003).</li>
 * <li><b>Kernel-half sync.</b> On x86 a populate of a top-level kernel entry is followed by
 *     {@code arch_sync_kernel_mappings} before any CPU running a user mm touches the range
 *     (seed 001); {@link ptlab.kmap.MemoryHotplug.Order} reproduces the two ways to get it wrong.</li>
 * <li><b>Failure.</b> Boot, vmalloc, hot-add and efi mapping record every allocation and store
 *     in an {@link ptlab.kmap.UndoLog} and unwind it on ENOMEM; a split that fails half way
 *     leaves finished splits in place (as Linux), which keep every translation.</li>
 * </ul>
 *
 * <p>This package may use arch, cpu, events, phys, pgtable, walk and mm (for {@code Kernel} and
 * {@code Errno}); only sim, cli and tests use it.
 */
package ptlab.kmap;
