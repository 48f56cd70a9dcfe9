/**
 * The invariant checker ({@code mm/page_table_check.c}, {@code mm/debug_vm_pgtable.c} in
 * spirit): {@link ptlab.check.Checker#check} returns the list of violations of a quiescent
 * machine. It may read every layer below it; only sim (which runs it between steps) and tests
 * import it, and the CLI reaches it through sim.
 */
package ptlab.check;
