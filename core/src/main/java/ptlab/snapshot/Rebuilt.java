package ptlab.snapshot;

import java.util.List;
import ptlab.arch.Architecture;
import ptlab.mm.Kernel;
import ptlab.mm.Process;
import ptlab.mm.Vma;

/**
 * A snapshot rebuilt on one architecture: the machine, the process, its VMAs (with the maps
 * lines each came from) and what went in.
 *
 * @param thpAlways built as if THP were {@code always} (a what-if)
 * @param ramBytes simulated RAM the machine was given (sized to hold tables and pages)
 * @param thps     PMD-mapped anonymous THPs built (each with a deposited PTE table)
 * @param filePmds PMD mappings of file, shmem or hugetlb pages built (no deposit)
 * @param notes    what the rebuild could not represent exactly, one sentence each
 */
public record Rebuilt(Snapshot snapshot, Architecture arch, boolean thpAlways, Kernel kernel, Process process, List<Rebuild.Target> targets, List<Vma> vmas,
        long ramBytes, long present, long swapped, long markers, long thps, long filePmds, List<String> notes, long millis) {}
