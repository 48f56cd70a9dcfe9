/**
 * Range operations on raw page tables, without VMAs: map a physical range with 4K, PMD or PUD
 * leaves ({@code vmap_range_noflush}, {@code remap_pfn_range}), unmap it ({@code vunmap_range}
 * + {@code free_pgd_range}), change its protection ({@code change_protection}), apply a function
 * to its PTEs ({@code apply_to_page_range} / {@code apply_to_existing_page_range}) and copy it
 * into another mm ({@code copy_page_range}). Every operation is a small visitor on the one
 * walk engine of {@link ptlab.walk}.
 *
 * <h2>Contract</h2>
 * Arguments are checked before anything changes: a misaligned, empty, wrapping, non-canonical
 * or half-crossing range, a leaf size the architecture cannot map, or a range that is already
 * (partly) mapped raises a {@link ptlab.PtlabException} subclass and leaves no trace. An
 * allocation failure in the middle of a map is rolled back: the leaves written are cleared,
 * the tables installed are unhooked and freed, so the checker passes and nothing leaks.
 *
 * <h2>Locking</h2>
 * The caller owns the range (for a user mm: holds, or stands in for, the mmap lock). PTEs are
 * changed under the PTE table's ptlock ({@code pte_offset_map_lock}; none for init_mm), PMD
 * leaves under {@code pmd_lock}, PUD and higher leaves under {@code page_table_lock}; a table is
 * unhooked under the lock that guards its parent entry, as it was installed. Order: unhook →
 * TLB flush request → free ({@link ptlab.range.FlushRequest}).
 */
package ptlab.range;
