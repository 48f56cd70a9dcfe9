package ptlab.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The RAM of the machine ptlab runs on ({@code MemTotal} of {@code /proc/meminfo}): the default
 * RAM of a replay, since the kernel driver's answers depend on it (a mapping larger than RAM
 * fails under the overcommit guess).
 */
final class HostMemory {
    private HostMemory() {}

    /** MemTotal in bytes, rounded down to {@code granule}; {@code fallback} where there is no /proc/meminfo. */
    static long totalBytes(long granule, long fallback) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/meminfo"))) {
                if (line.startsWith("MemTotal:")) {
                    long kb = Long.parseLong(line.substring(9).trim().split("\\s+")[0]);
                    long bytes = (kb << 10) & -granule;
                    return bytes > 0 ? bytes : fallback;
                }
            }
        } catch (IOException | RuntimeException e) {
            // not Linux, or a format this does not know: the library's default
        }
        return fallback;
    }
}
