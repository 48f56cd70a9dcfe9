package ptlab.events;

import jdk.jfr.Category;
import jdk.jfr.Label;
import jdk.jfr.Name;

/** A TLB flush request: page, range, mm or all; {@code cpus} is the number of CPUs shot down. */
@Name("ptlab.TlbFlush")
@Label("TLB flush")
@Category({"ptlab", "MMU"})
final class FlushEvent extends jdk.jfr.Event {
    @Label("Kind")
    String kind;
    @Label("Address space")
    String mm;
    @Label("Start")
    long start;
    @Label("End")
    long end;
    @Label("CPUs shot down")
    int cpus;
}
