package ptlab.sim;

import java.util.List;
import java.util.Map;
import ptlab.cpu.Violation;
import ptlab.pgtable.KernelConfig;

/**
 * What a simulation measured: the timeline of page-table memory, the counters of the run,
 * violations found by the checker (none expected), and notes on steps the kernel refused.
 *
 * @param foundAfter for each violation, the step after which the checker first reported it
 *                   ({@code line 29 (hotadd)}, or {@code end of run} for the final check)
 */
public record SimReport(
        KernelConfig config,
        int cpus,
        long seed,
        List<Sample> samples,
        Occupancy occupancyAtPeak,
        List<Violation> violations,
        Map<Violation, String> foundAfter,
        List<String> notes,
        Counters counters,
        long millis) {

    /** Counters over the whole run. */
    public record Counters(
            long ctors,
            long dtors,
            long dynamicPtlocks,
            long ptlockInits,
            long syncCalls,
            long syncCopies,
            long installRacesLost,
            long splitTables,
            long hotAddedBytes,
            long tlbFlushes,
            long shootdowns,
            long locklessWalks,
            long walkRetries,
            long translations,
            long gracePeriods,
            long checks,
            long failedCalls) {}

    /** Where {@code v} was first found: {@code line N (step)}, or {@code end of run}. */
    public String foundAfter(Violation v) {
        return foundAfter.getOrDefault(v, "end of run");
    }

    /** The sample with the most NR_PAGETABLE pages. */
    public Sample peak() {
        Sample best = samples.get(0);
        for (Sample s : samples) {
            if (s.nrPagetable() > best.nrPagetable()) {
                best = s;
            }
        }
        return best;
    }
}
