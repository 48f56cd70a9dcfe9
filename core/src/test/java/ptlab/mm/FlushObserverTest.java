package ptlab.mm;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import ptlab.check.CheckedKernels;
import ptlab.cpu.SimCpu;
import ptlab.mmu.AccessKind;
import ptlab.mmu.CpuMmu;
import ptlab.mmu.FlushRequest;
import ptlab.mmu.Privilege;
import ptlab.pgtable.KernelConfig;

/**
 * An emulator checks that munmap shot its guest's entries down: the flush an observer sees
 * names the guest by ASID, and {@code Mmu.asidOf} says which ASID that is (before, only
 * CpuMmu.toString showed it).
 */
class FlushObserverTest {
    @RegisterExtension
    final CheckedKernels kernels = new CheckedKernels();

    private static final long B = 0x7f0000000000L;

    @Test
    void anObserverCanTellTheGuestsFlushes() {
        new SimCpu(0).runAs(() -> {
            Kernel k = kernels.kernel(KernelConfig.defaults().withRam(1L << 30));
            Process guest = k.newProcess("guest");
            Process other = k.newProcess("other");
            for (Process p : List.of(guest, other)) {
                p.mmap(B, 1L << 20, 3, false);
                p.touch(B, 1L << 20, true);
            }
            List<FlushRequest> seen = new CopyOnWriteArrayList<>();
            k.mmu().addObserver(seen::add);
            assertThat(k.mmu().asidOf(guest.mm())).as("no CPU ran it yet").isZero();
            CpuMmu cpu = k.mmu().attach(SimCpu.current());
            cpu.switchMm(other.mm());
            cpu.switchMm(guest.mm());
            cpu.translatePa(B, AccessKind.READ, Privilege.USER);
            int asid = k.mmu().asidOf(guest.mm());
            assertThat(asid).isPositive().isNotEqualTo(k.mmu().asidOf(other.mm()));
            other.munmap(B, 4096);
            guest.munmap(B, 4096);
            assertThat(seen).filteredOn(f -> f.asid() == asid).singleElement()
                    .satisfies(f -> assertThat(f.start()).isLessThanOrEqualTo(B).isLessThan(f.end()));
            cpu.leave();
            guest.exit();
            other.exit();
        });
    }
}
