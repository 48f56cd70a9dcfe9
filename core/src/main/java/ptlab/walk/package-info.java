/**
 * The walk engine and walk-based range operations.
 *
 * <p>{@link ptlab.walk.Walker} is the only loop over page-table levels; operations are
 * {@link ptlab.walk.WalkOps} visitors answering with an {@link ptlab.walk.Action}. Vocabulary as
 * in {@code mm/pagewalk.c}: <em>addr/next/end</em> (current entry's span), <em>hole</em> (a none
 * entry, {@code pte_hole}), <em>pre/post-order</em> table callbacks. Post-order is the only
 * place a table may be unhooked and freed.
 */
package ptlab.walk;
