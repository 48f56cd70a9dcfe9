package ptlab.events;

import jdk.jfr.Category;
import jdk.jfr.Label;
import jdk.jfr.Name;

/** An RCU grace period completed, with the number of deferred callbacks (table frees) it released. */
@Name("ptlab.GracePeriod")
@Label("RCU grace period")
@Category({"ptlab", "RCU"})
final class GracePeriodEvent extends jdk.jfr.Event {
    @Label("Sequence")
    long seq;
    @Label("Callbacks run")
    long callbacks;
}
