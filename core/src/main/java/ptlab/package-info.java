/**
 * ptlab: the Linux page-table subsystem in Java.
 *
 * <p>Packages, bottom up (a package may use those before it, never those after it):
 * {@code events} (JFR tracepoints) and {@code report} (HTML charts), which use nothing of
 * ptlab, {@code arch} (geometry and bit-exact entry formats), {@code cpu} (simulated CPUs, atomic
 * context, locks with a checked order), {@code phys} (simulated physical memory, per-frame
 * metadata, buddy allocator), {@code rcu}, {@code pgtable} (table pages: ctor/dtor, ptlocks,
 * accounting, install), {@code walk}, {@code range} (raw range operations), {@code mmu},
 * {@code mm} (address spaces, VMAs, faults, THP, fork), {@code kmap} (kernel mappings),
 * {@code check} (the invariant checker), {@code trace} (replay), {@code snapshot} (captures of
 * real processes) and {@code sim} (scenarios, the default one included).
 */
package ptlab;
