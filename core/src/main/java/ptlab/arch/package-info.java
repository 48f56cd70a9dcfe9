/**
 * Paging configurations: {@link ptlab.arch.Geometry} (levels, shifts, entries per table,
 * folding), {@link ptlab.arch.PteFormat} (bit-exact entry encodings and the Linux helpers),
 * and {@link ptlab.arch.Architecture} tying them to address-space facts.
 *
 * <p>Vocabulary: <em>pa</em> a physical address, <em>pfn</em> a page frame number
 * ({@code pa >> pageShift}), <em>va</em> a virtual address; <em>level</em> is a Linux level
 * name; a level is <em>folded</em> when its entries are its parent's (Linux
 * {@code pgtable-nop?d.h}). Formats are pure functions of 64-bit words: no memory, no locks.
 * This package imports nothing from the rest of ptlab but {@link ptlab.PtlabException} and
 * {@link ptlab.InvalidAddressException} (thrown for a misaligned or out-of-range address).
 */
package ptlab.arch;
