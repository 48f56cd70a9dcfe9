package ptlab.range;

/**
 * The {@code pte_fn_t} of {@code apply_to_page_range}: called with each PTE of the range under
 * the PTE lock (none for init_mm); returns the new entry value (return {@code pte} to leave it).
 */
@FunctionalInterface
public interface PteFunction {
    long apply(long addr, long pte);
}
