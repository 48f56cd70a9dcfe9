package ptlab.snapshot;

/**
 * What analyze needs from {@code /proc/PID/status}.
 *
 * @param name  {@code Name:} (the command)
 * @param pid   {@code Pid:}
 * @param vmPteKb {@code VmPTE:} in kB ({@code mm_pgtables_bytes >> 10})
 */
public record Status(String name, long pid, long vmPteKb) {}
