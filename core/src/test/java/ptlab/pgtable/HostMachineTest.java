package ptlab.pgtable;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** HostMachine reads this machine's settings whole (a /proc/sys read once gave only the first byte). */
class HostMachineTest {
    @Test
    void readsTheSysctlsAndRamOfThisMachine() throws Exception {
        Path min = Path.of("/proc/sys/vm/mmap_min_addr");
        assumeTrue(Files.isReadable(min), "not Linux");
        long expected;
        try (var lines = Files.lines(min)) {
            expected = Long.parseLong(lines.findFirst().orElseThrow().trim());
        }
        VmSettings vm = HostMachine.vm();
        assertThat(vm.mmapMinAddr()).isEqualTo(expected);
        assertThat(vm.maxMapCount()).as("vm.max_map_count is never a one-digit number on a real machine").isGreaterThan(1000);
        long memTotal;
        try (var lines = Files.lines(Path.of("/proc/meminfo"))) {
            memTotal = Long.parseLong(lines.filter(l -> l.startsWith("MemTotal:")).findFirst().orElseThrow()
                    .replaceAll("[^0-9]", "")) << 10;
        }
        long ram = HostMachine.config().ramBytes();
        assertThat(ram).as("MemTotal in whole 4 MiB buddy blocks").isBetween(memTotal - (4L << 20) + 1, memTotal);
        assertThat(ram % (4L << 20)).isZero();
        assertThat(HostMachine.overcommitMode()).isBetween(0, 2);
    }
}
