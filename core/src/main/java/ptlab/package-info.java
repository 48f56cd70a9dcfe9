/**
 * ptlab: the Linux page-table subsystem in Java.
 *
 * <p>Packages, bottom up (a package may use those before it, never those after it):
 * {@code arch} (geometry and bit-exact entry formats), {@code cpu} (simulated CPUs, atomic
 * context, locks with a checked order), {@code phys} (simulated physical memory, per-frame
 * metadata, buddy allocator), {@code rcu}, {@code pgtable} (table pages: ctor/dtor, ptlocks,
 * accounting, install), {@code walk}, {@code mmu}, {@code mm} (address spaces, VMAs, faults,
 * THP, fork), {@code kernel} (kernel mappings), {@code check} (the invariant checker),
 * {@code trace} and {@code sim} (replay and the default scenario).
 */
package ptlab;
