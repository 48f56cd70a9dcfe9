/**
 * RCU for simulated CPUs: read-side sections, grace periods, deferred callbacks.
 *
 * <p>Vocabulary as in {@code kernel/rcu}: a <em>read section</em> is the code between
 * {@link ptlab.rcu.RcuReaders#readLock()} and {@link ptlab.rcu.RcuReaders#readUnlock()} (nesting
 * counts on {@link ptlab.cpu.SimCpu}); a <em>grace period</em> has elapsed for an update once
 * every read section that existed when the update was published has ended; a <em>callback</em>
 * ({@link ptlab.rcu.Rcu#callRcu}) runs after one. {@link ptlab.rcu.Rcu#synchronizeRcu()} waits for a
 * grace period; {@link ptlab.rcu.Rcu#barrier()} ({@code rcu_barrier}) waits until every queued
 * callback has run: tests and the checker call it before counting tables.
 *
 * <h2>Protocol</h2>
 * Unlink (release store) → grace period → free. Readers load protected pointers only inside a
 * section, with acquire loads. Page-table pages use this through
 * {@code PageTables.pteFreeDefer} ({@code pte_free_defer}, {@code tlb_remove_table}): the only way a
 * table that was ever reachable returns to the allocator.
 *
 * <p>This package may import {@code cpu} and {@code events} (the grace-period tracepoint) only
 * ({@code DESIGN.md}: rcu sits below pgtable).
 */
package ptlab.rcu;
