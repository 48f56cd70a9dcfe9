/**
 * Snapshots of real processes: capture {@code /proc/PID} ({@link ptlab.snapshot.Capture}), load
 * and check a capture ({@link ptlab.snapshot.Snapshot} with the maps, smaps, status and pagemap
 * parsers), rebuild its address space as real tables in a simulated machine
 * ({@link ptlab.snapshot.Rebuild} over {@link ptlab.mm.Restore}) and analyze it
 * ({@link ptlab.snapshot.Analysis}, {@link ptlab.snapshot.TextReport},
 * {@link ptlab.snapshot.HtmlReport}).
 *
 * <h2>Vocabulary</h2>
 * <ul>
 * <li><b>capture</b>: the directory {@code maps}, {@code smaps}, {@code status} (verbatim) and
 * {@code pagemap} (the u64 entries of every 4 KiB page of each maps line below
 * 0x800000000000, in maps order), and {@code pagemap.index} (where the occupied entries are;
 * {@link ptlab.snapshot.PagemapIndex}, optional). Analyze never reads {@code /proc}.</li>
 * <li><b>occupied entry</b>: a pagemap entry that is present, swapped or a PTE marker: the
 * kernel has a non-none PTE there, hence a PTE table.</li>
 * <li><b>hidden table</b>: a table the kernel holds with no occupied entry under it. Pagemap
 * shows pages, not tables, so a snapshot cannot show it; it is why VmPTE may exceed what the
 * rebuild needs, and the report bounds and names that case.</li>
 * </ul>
 *
 * <h2>Rules</h2>
 * Bad input of any kind is a {@link ptlab.snapshot.SnapshotFormatException}: one line with the
 * file, the line where there is one, and the problem. Parsers take the whole file as text
 * (ISO-8859-1, so every byte decodes) and never throw anything else; the fuzz test holds them
 * to that. The package may use every layer below the CLI ({@code mm}, {@code pgtable},
 * {@code walk}); nothing below imports it.
 */
package ptlab.snapshot;
