package ptlab.kmap;

import ptlab.arch.Level;

/**
 * arm64's {@code pgtable_alloc_fn} (seed 003): given the level of the table wanted
 * ({@code enum pgtable_type}: TABLE_PTE, TABLE_PMD, ...), return a table or a failure. Every
 * kernel-mapping operation takes one, so the same split and map code runs with the boot
 * allocator, the init_mm allocator, the special-mm allocator or a preallocated pool.
 */
@FunctionalInterface
public interface PgtableAllocFn {
    TableAlloc alloc(Level level);
}
