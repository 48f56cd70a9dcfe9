package ptlab.kmap;

import ptlab.phys.PageDesc;

/** Outcome of a {@link PgtableAllocFn}: a zeroed table ready to populate, or a failure ({@code INVALID_PHYS_ADDR}). */
public sealed interface TableAlloc permits TableAlloc.Table, TableAlloc.Failed {

    /** A table, constructed or not as the allocator's rule says. */
    record Table(PageDesc desc) implements TableAlloc {}

    /** No table; {@code reason} names the allocator and the cause. */
    record Failed(String reason) implements TableAlloc {}
}
