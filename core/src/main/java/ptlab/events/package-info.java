/**
 * JFR events for what a kernel developer would trace (the ptlab analogue of the kernel's
 * tracepoints): page-table page allocation and free with level and mm, THP split and collapse,
 * kernel-half sync, TLB flushes, RCU grace periods. {@link ptlab.events.Tracepoints} is the only
 * entry point; with no recording running an event costs an {@code isEnabled()} check (the event
 * object is scalar-replaced). Record with {@code -XX:StartFlightRecording} or
 * {@code ./ptlab simulate --jfr FILE} and open the file in JDK Mission Control.
 *
 * <p>This package sits at the bottom of the layering: it depends on nothing in ptlab.
 */
package ptlab.events;
