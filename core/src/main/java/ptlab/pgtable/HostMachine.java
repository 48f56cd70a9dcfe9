package ptlab.pgtable;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The machine ptlab runs on, read from {@code /proc}: what a simulated machine needs to answer
 * as this one's kernel does (the kernel driver's answers depend on its RAM, two sysctls and a
 * CPU feature). Where a file cannot be read (not Linux), the value is the given or built-in
 * default, so a run elsewhere still works, as the machine {@link VmSettings#DEFAULTS} describes.
 */
public final class HostMachine {
    private HostMachine() {}

    /** {@code MemTotal} in bytes, rounded down to {@code granule}; {@code fallback} if unknown. */
    public static long ramBytes(long granule, long fallback) {
        String v = field(Path.of("/proc/meminfo"), "MemTotal:");
        try {
            long bytes = v == null ? 0 : (Long.parseLong(v.split("\\s+")[0]) << 10) & -granule;
            return bytes > 0 ? bytes : fallback;
        } catch (NumberFormatException e) {
            return fallback;
        }
    }

    /** This machine's vm.mmap_min_addr, vm.max_map_count and x86 PKU (OSPKE); defaults where unreadable. */
    public static VmSettings vm() {
        VmSettings d = VmSettings.DEFAULTS;
        long minAddr = number(Path.of("/proc/sys/vm/mmap_min_addr"), d.mmapMinAddr());
        long maxMap = number(Path.of("/proc/sys/vm/max_map_count"), d.maxMapCount());
        String flags = field(Path.of("/proc/cpuinfo"), "flags");
        boolean pku = flags == null ? d.x86Pku() : (" " + flags + " ").contains(" ospke ");
        // The overcommit guess compares with totalram_pages() + total_swap_pages exactly: MemTotal
        // and SwapTotal, not the RAM rounded to whole buddy blocks that the simulated machine has.
        long commit = kb("MemTotal:") + kb("SwapTotal:");
        return new VmSettings(minAddr, (int) Math.min(Integer.MAX_VALUE, Math.max(1, maxMap)), pku, Math.max(0, commit) << 10);
    }

    /** A field of /proc/meminfo in kB, 0 if unknown. */
    private static long kb(String key) {
        String v = field(Path.of("/proc/meminfo"), key);
        try {
            return v == null ? 0 : Long.parseLong(v.split("\\s+")[0]);
        } catch (NumberFormatException e) {
            return 0;
        }
    }

    /** vm.overcommit_memory (0: the guess ptlab models), or -1 if unknown. */
    public static int overcommitMode() {
        return (int) number(Path.of("/proc/sys/vm/overcommit_memory"), -1);
    }

    /** {@link KernelConfig#defaults()} with this machine's RAM and {@link #vm()}. */
    public static KernelConfig config() {
        KernelConfig d = KernelConfig.defaults();
        long block = 1L << (d.arch().geometry().pageShift() + ptlab.phys.BuddyAllocator.MAX_ORDER);
        return d.withRam(ramBytes(block, d.ramBytes())).withVm(vm());
    }

    private static long number(Path p, long fallback) {
        // Line by line: Files.readString of a /proc/sys file (which reports size 0) returned only
        // its first byte on JDK 17 ("4" for 4096).
        try (var lines = Files.lines(p)) {
            return Long.parseLong(lines.findFirst().orElse("").trim());
        } catch (IOException | RuntimeException e) {
            return fallback;
        }
    }

    /** The text after {@code key} and its colon on the first line that starts with it, trimmed. */
    private static String field(Path p, String key) {
        try (var lines = Files.lines(p)) {
            return lines.filter(l -> l.startsWith(key)).findFirst()
                    .map(l -> l.substring(l.indexOf(':') + 1).trim()).orElse(null);
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }
}
