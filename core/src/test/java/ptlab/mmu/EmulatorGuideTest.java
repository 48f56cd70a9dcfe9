package ptlab.mmu;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import ptlab.check.CheckedKernels;
import ptlab.cpu.SimCpu;
import ptlab.mm.Errno;
import ptlab.mm.Kernel;
import ptlab.mm.PageContents;
import ptlab.mm.Process;
import ptlab.pgtable.KernelConfig;

/**
 * The example of docs/mmu.md, run: two vCPU threads store to every word of their half of a
 * guest's memory through {@code translatePa}, faulting pages in as they go, into guest memory
 * kept through {@link PageContents}; then a fork, a store in the child, and every word read
 * back on a third CPU. The guide's code block must be the code between the markers below, so
 * the guide cannot drift from what runs.
 */
class EmulatorGuideTest {
    @RegisterExtension
    final CheckedKernels checked = new CheckedKernels();

    @Test
    void theGuidesEmulatorRunsAndItsMemoryReadsBack() throws Exception {
        Kernel k = checked.kernel(KernelConfig.defaults().withRam(64L << 20));
        // guide:begin
        long[] ram = new long[(int) (k.pageTables().memory().ramBytes() >>> 3)]; // guest memory, by pa
        k.setPageContents(new PageContents() { // the kernel zeroes and copies user pages: follow it
            @Override
            public void clear(long pfn, int order, String site) {
                Arrays.fill(ram, (int) (pfn << 9), (int) ((pfn + (1L << order)) << 9), 0L);
            }

            @Override
            public void copy(long fromPfn, long toPfn, String site) {
                System.arraycopy(ram, (int) (fromPfn << 9), ram, (int) (toPfn << 9), 512);
            }
        });
        Process guest = k.newProcess("guest");
        long base = 0x7f0000000000L;
        guest.mmap(base, 16L << 20, 3 /* PROT_READ | PROT_WRITE */, false);

        Thread[] vcpus = new Thread[2];
        for (int n = 0; n < vcpus.length; n++) {
            int id = n;
            vcpus[n] = new Thread(() -> {
                new SimCpu(id).bindCurrentThread(); // this thread is CPU id
                CpuMmu mmu = k.mmu().attach(SimCpu.current(), 1 << 12, 64); // 4096 base entries, 64 per block size
                mmu.switchMm(guest.mm());
                try {
                    for (long va = base + id * (8L << 20); va < base + (id + 1) * (8L << 20); va += 8) {
                        long pa;
                        while (Translation.isFault(pa = mmu.translatePa(va, AccessKind.WRITE, Privilege.USER))) {
                            if (guest.touch(va, 8, true) != Errno.OK) { // the page fault: handle_mm_fault, then retry
                                throw new IllegalStateException("SIGSEGV at 0x" + Long.toHexString(va) + ": " + Translation.faultOf(pa));
                            }
                        }
                        ram[(int) (pa >>> 3)] = va; // the store
                    }
                } finally {
                    mmu.leave(); // offline: shootdowns stop waiting for this CPU
                }
            });
            vcpus[n].start();
        }
        for (Thread t : vcpus) {
            t.join();
        }
        // guide:end

        new SimCpu(2).runAs(() -> readBack(k, guest, base, ram)); // the test thread as CPU 2, unbound again after
    }

    /** On a third CPU: every word of the guest, then a fork whose child overwrites one word. */
    private static void readBack(Kernel k, Process guest, long base, long[] ram) {
        CpuMmu cpu = k.mmu().attach(SimCpu.current());
        cpu.switchMm(guest.mm());
        for (long va = base; va < base + (16L << 20); va += 8) {
            long pa = cpu.translatePa(va, AccessKind.READ, Privilege.USER);
            assertThat(Translation.isFault(pa)).as("0x%x", va).isFalse();
            if (ram[(int) (pa >>> 3)] != va) {
                assertThat(ram[(int) (pa >>> 3)]).as("word 0x%x", va).isEqualTo(va);
            }
        }
        Process child = guest.fork("child");
        cpu.switchMm(child.mm());
        long va = base + 4096;
        assertThat(Translation.faultOf(cpu.translatePa(va, AccessKind.WRITE, Privilege.USER)).reason())
                .as("copy-on-write: the child's store faults").isEqualTo(FaultReason.WRITE_PROTECTED);
        assertThat(child.touch(va, 8, true)).isEqualTo(Errno.OK);
        ram[(int) (cpu.translatePa(va, AccessKind.WRITE, Privilege.USER) >>> 3)] = 42;
        assertThat(ram[(int) (cpu.translatePa(va + 8, AccessKind.READ, Privilege.USER) >>> 3)]).as("the rest of the copied page").isEqualTo(va + 8);
        cpu.switchMm(guest.mm());
        assertThat(ram[(int) (cpu.translatePa(va, AccessKind.READ, Privilege.USER) >>> 3)]).as("the parent's word").isEqualTo(va);
        assertThat(k.mmu().audit()).isEmpty();
        cpu.leave();
        child.exit();
        guest.exit();
    }

    /** docs/mmu.md shows exactly the code between the markers above. */
    @Test
    void theGuideShowsTheCodeThatRuns() throws Exception {
        Path doc = Path.of("..", "docs", "mmu.md");
        Path self = Path.of("src", "test", "java", "ptlab", "mmu", "EmulatorGuideTest.java");
        String src = Files.readString(self);
        String code = src.substring(src.indexOf("// guide:begin\n") + "// guide:begin\n".length(), src.indexOf("        // guide:end"));
        String md = Files.readString(doc);
        String block = md.substring(md.indexOf("```java\n") + "```java\n".length());
        block = block.substring(0, block.indexOf("```"));
        assertThat(block.strip()).as("docs/mmu.md's java block").isEqualTo(code.stripTrailing().stripIndent().strip());
    }
}
