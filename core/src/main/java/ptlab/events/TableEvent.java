package ptlab.events;

import jdk.jfr.Category;
import jdk.jfr.Description;
import jdk.jfr.Label;
import jdk.jfr.Name;

/** A page-table page constructed ({@code pagetable_ctor}) or destructed ({@code pagetable_dtor}). */
@Name("ptlab.Table")
@Label("Page-table page")
@Category({"ptlab", "Page tables"})
@Description("A page-table page allocated (alloc = true) or freed, with its level and address space")
final class TableEvent extends jdk.jfr.Event {
    @Label("Allocated")
    boolean alloc;
    @Label("Level")
    String level;
    @Label("Address space")
    String mm;
    @Label("PFN")
    long pfn;
}
