package ptlab.events;

import jdk.jfr.Category;
import jdk.jfr.Label;
import jdk.jfr.Name;

/** A huge leaf split into a table of smaller entries, or a range collapsed into a huge leaf. */
@Name("ptlab.Thp")
@Label("Split / collapse")
@Category({"ptlab", "Page tables"})
final class ThpEvent extends jdk.jfr.Event {
    @Label("Operation")
    String op;
    @Label("Address space")
    String mm;
    @Label("Address")
    long addr;
    @Label("Level")
    String level;
}
