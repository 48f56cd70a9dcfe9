package ptlab.mm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.StringReader;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import ptlab.PtlabException;
import ptlab.arch.Architectures;
import ptlab.check.CheckedKernels;
import ptlab.check.Checker;
import ptlab.cpu.SimCpu;
import ptlab.kmap.KernelMappings;
import ptlab.kmap.MemoryHotplug;
import ptlab.mmu.AccessKind;
import ptlab.mmu.CpuMmu;
import ptlab.mmu.Privilege;
import ptlab.mmu.Translation;
import ptlab.pgtable.KernelConfig;
import ptlab.pgtable.VmSettings;
import ptlab.phys.MemoryConfigException;
import ptlab.sim.ScenarioParser;
import ptlab.sim.Simulation;
import ptlab.sim.Step;
import ptlab.trace.TraceOp;
import ptlab.trace.TraceSyntaxException;

/**
 * Misuse of the library found by an audit of its API: each gets a clear exception or Linux's
 * errno, and the machine stays consistent (the checker runs after every test, and the tests
 * check frames and NR_PAGETABLE where a leak was possible).
 */
class LibraryMisuseTest {
    @RegisterExtension
    final CheckedKernels kernels = new CheckedKernels();

    private static final long B = 1L << 30;

    /** A CPU that still has an exited process's mm never walks its freed PGD: it runs init_mm, as x86's lazy CPUs do. */
    @Test
    void aCpuLeftOnAnExitedMmNeitherWalksItsFreedPgdNorSwitchesBack() {
        SimCpu cpu = new SimCpu(0);
        cpu.runAs(() -> cpuLeftOnAnExitedMm(cpu)); // runAs restores the test thread's binding
    }

    private void cpuLeftOnAnExitedMm(SimCpu cpu) {
        Kernel k = kernels.kernel(KernelConfig.defaults().withRam(1L << 30));
        CpuMmu m = k.mmu().attach(cpu);
        Process p = k.newProcess("p");
        p.mmap(B, 4096, 3, false);
        p.touch(B, 4096, true);
        m.switchMm(p.mm());
        assertThat(m.translate(B, AccessKind.READ, Privilege.USER)).isInstanceOf(Translation.Mapped.class);
        p.exit();
        Process r = k.newProcess("r"); // may get p's PGD frame
        r.mmap(B, 8192, 3, false);
        r.touch(B, 8192, true);
        assertThat(m.translate(B, AccessKind.WRITE, Privilege.USER)).as("not r's page through p's old PGD").isInstanceOf(Translation.Fault.class);
        assertThat(m.currentMm()).isEqualTo(k.pageTables().initMm());
        assertThatThrownBy(() -> m.switchMm(p.mm())).isInstanceOf(IllegalStateException.class).hasMessageContaining("has exited");
        assertThat(m.currentMm()).as("unchanged by the refused switch").isEqualTo(k.pageTables().initMm());
        r.exit();
    }

    /** exit() racing another thread's calls on the same process: the loser sees the exit, nothing leaks. */
    @Test
    void exitRacingOtherCallsLeavesNothingBehind() throws Exception {
        Kernel k = kernels.kernel(KernelConfig.defaults().withRam(4L << 30));
        long frames = k.pageTables().allocator().allocatedFrames();
        for (int round = 0; round < 40; round++) {
            Process p = k.newProcess("p" + round);
            AtomicReference<Throwable> odd = new AtomicReference<>();
            Thread t = new Thread(() -> {
                for (long i = 0; ; i++) {
                    long at = 0x100000000000L + ((i & 1023) << 21);
                    try {
                        p.mmap(at, 4096, 3, false);
                        p.touch(at, 4096, true);
                    } catch (IllegalStateException e) {
                        return; // "... has exited"
                    } catch (Throwable e) {
                        odd.set(e);
                        return;
                    }
                }
            });
            t.start();
            Thread.sleep(1);
            p.exit();
            t.join();
            assertThat(odd.get()).as("round %d", round).isNull();
            assertThat(p.vmas()).isEmpty();
            assertThat(k.pageTables().stats().nrPagetable()).as("round %d", round).isZero();
            assertThat(k.pageTables().allocator().allocatedFrames()).as("round %d", round).isEqualTo(frames);
        }
    }

    /**
     * A touch whose range wraps past 2^64 accesses the pages up to the top, so it faults where
     * they leave the mapping: it answered OK having touched nothing (the loop's end was below
     * its start).
     */
    @Test
    void aTouchThatWrapsPastTheTopFaults() {
        Kernel k = kernels.kernel(KernelConfig.defaults());
        Process p = k.newProcess("p");
        p.mmap(0x100000000000L, 8192, 3, false);
        assertThat(p.touch(0xfffffffffffff000L, 8192, false)).as("first page is the kernel's").isEqualTo(Errno.EFAULT);
        assertThat(p.touch(0x100000000000L, -4096, true)).as("a negative length runs to the top").isEqualTo(Errno.EFAULT);
        assertThat(p.vmPteBytes()).as("the mapped pages were touched first").isPositive();
        assertThat(p.touch(0x100000000000L, 0, true)).as("an empty range").isEqualTo(Errno.OK);
        p.exit();
    }

    /**
     * A second MMU on a kernel's tables is refused: an emulator that built one with the public
     * constructor instead of using Kernel.mmu() kept translating an unmapped page through its
     * CPUs' TLBs (munmap flushed through the kernel's MMU), and the checker blamed a missing flush.
     */
    @Test
    void aSecondMmuOnAKernelsTablesIsRefused() {
        Kernel k = kernels.kernel(KernelConfig.defaults().withRam(1L << 30));
        assertThatThrownBy(() -> new ptlab.mmu.Mmu(k.pageTables())).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("already has an MMU").hasMessageContaining("Kernel.mmu()");
        Process p = k.newProcess("p");
        p.mmap(B, 4096, 3, false);
        p.touch(B, 4096, true);
        p.exit(); // the kernel's MMU still does the exit's shootdown
    }

    @Test
    void callsLinuxRefusesGetItsErrno() {
        Kernel k = kernels.kernel(KernelConfig.defaults());
        Process p = k.newProcess("p");
        p.mmap(0x100000000000L, 4L << 20, 3, false);
        // do_mprotect_pkey: unknown bits, and PROT_GROWSDOWN on a VMA that does not grow.
        assertThat(p.mprotect(0x100000000000L, 4096, 0x10)).isEqualTo(Errno.EINVAL);
        assertThat(p.mprotect(0x100000000000L, 4096, -1)).isEqualTo(Errno.EINVAL);
        assertThat(p.mprotect(0x100000000000L, 4096, 0x01000000)).isEqualTo(Errno.EINVAL);
        assertThat(p.mprotect(0x100000000000L, 4096, 0x8 | 1)).as("PROT_SEM is accepted").isEqualTo(Errno.OK);
        // An address above 2^63 (unsigned) has no VMA: ENOMEM, as the kernel answers.
        for (Advice a : new Advice[] {Advice.DONTNEED, Advice.HUGEPAGE, Advice.NOHUGEPAGE}) {
            assertThat(p.madvise(0xffff800000000000L, 4096, a)).as(a.name()).isEqualTo(Errno.ENOMEM);
        }
        assertThat(p.mprotect(0xffff800000000000L, 4096, 1)).isEqualTo(Errno.ENOMEM);
        assertThat(p.munmap(0xffff800000000000L, 4096)).isEqualTo(Errno.EINVAL);
        p.exit();
    }

    @Test
    void kernelMappingsRefuseWhatLinuxNeverDoes() {
        new SimCpu(0).runAs(this::kernelMappingsMisuse);
    }

    private void kernelMappingsMisuse() {
        Kernel k = kernels.kernel(KernelConfig.defaults().withRam(1L << 30));
        Process early = k.newProcess("early");
        assertThatThrownBy(() -> new KernelMappings(k).boot()).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("boot the kernel mappings before any process");
        early.exit();
        KernelMappings km = new KernelMappings(k);
        assertThat(km.boot().ok()).isTrue();
        long tables = k.pageTables().stats().nrPagetable();
        long frames = k.pageTables().allocator().allocatedFrames();
        // A hot-add range that wraps past 2^64: EINVAL before anything is allocated.
        assertThat(new MemoryHotplug(km).addMemory(-(128L << 20), 128L << 20, MemoryHotplug.Order.FIXED).ok()).isFalse();
        assertThat(km.vmalloc(0).result().ok()).isFalse();
        assertThat(km.vmalloc(-1).result().ok()).isFalse();
        assertThat(km.vmalloc(Integer.MIN_VALUE).result().ok()).isFalse();
        assertThat(k.pageTables().stats().nrPagetable()).isEqualTo(tables);
        assertThat(k.pageTables().allocator().allocatedFrames()).isEqualTo(frames);
        KernelMappings.Vmalloc v = km.vmalloc(1);
        assertThat(v.result().ok()).isTrue();
        assertThat(Long.compareUnsigned(v.va(), km.layout().vmallocStart())).as("inside the vmalloc area").isGreaterThanOrEqualTo(0);
    }

    @Test
    void badConfigurationIsAPtlabException() {
        assertThatThrownBy(() -> new VmSettings(-1, 65530, true)).isInstanceOf(PtlabException.class);
        assertThatThrownBy(() -> new VmSettings(4096, 0, true)).isInstanceOf(PtlabException.class);
        // More RAM than the physical address space (x86-64: 52 bits) is refused before any metadata is made.
        assertThatThrownBy(() -> new Kernel(KernelConfig.defaults().withRam(1L << 57))).isInstanceOf(MemoryConfigException.class)
                .hasMessageContaining("52-bit physical address space");
        assertThatThrownBy(() -> KernelConfig.defaults().withVm(null)).isInstanceOf(NullPointerException.class)
                .hasMessageContaining("vm settings");
        assertThatThrownBy(() -> new Kernel(KernelConfig.of(Architectures.byName("arm64-4k-48")).withRam(1L << 49)))
                .isInstanceOf(MemoryConfigException.class);
    }

    /** Step lists built in code get the parser's checks; a run that fails leaves no process behind. */
    @Test
    void simulationChecksStepListsAndCleansUpAfterAFailure() throws Exception {
        KernelConfig c = KernelConfig.defaults().withRam(1L << 30);
        List<Step> dup = List.of(new Step.NewProcess(1, "a"), new Step.Trace(2, new TraceOp.Mmap(2, 0x100000000L, 4 << 20, 3, false, 0)),
                new Step.NewProcess(3, "a"));
        assertThatThrownBy(() -> new Simulation(c, 2, 1, 1).run(dup, i -> { })).isInstanceOf(TraceSyntaxException.class)
                .hasMessage("steps:3: process 'a' already exists");
        assertThatThrownBy(() -> ScenarioParser.parse("s", new StringReader("process a\nboot\n")))
                .hasMessage("s:2: boot: must come before the first process, as a real boot does");
        Simulation sim = new Simulation(c, 2, 1, 1);
        List<Step> outsideRam = List.of(new Step.Boot(1), new Step.NewProcess(2, "a"),
                new Step.Trace(3, new TraceOp.Mmap(3, 0x100000000L, 4 << 20, 3, false, 0)),
                new Step.Trace(4, new TraceOp.Touch(4, 0x100000000L, 4 << 20, true)), new Step.SplitLinear(5, 2L << 30, 4096));
        assertThatThrownBy(() -> sim.run(outsideRam, i -> { })).hasMessageContaining("is not inside RAM");
        assertThat(sim.kernel().pageTables().mms()).as("only kernel mms are left").allMatch(mm -> mm.kind() != ptlab.pgtable.MmKind.USER);
        assertThat(Checker.checkDrained(sim.kernel().pageTables())).isEmpty();
    }

    @Test
    void rangeOperationsOfATraceAreAlignedToTheArchitecturesPage() {
        ptlab.trace.Replayer r = new ptlab.trace.Replayer(KernelConfig.of(Architectures.byName("arm64-64k-48")), "t");
        assertThatThrownBy(() -> r.step(new TraceOp.Mmap(1, 0x100000001000L, 64 << 10, 3, false, 0)))
                .isInstanceOf(TraceSyntaxException.class).hasMessage("t:1: address 0x100000001000 is not aligned to a 64 KiB page (arm64-64k-48)");
        r.finish();
    }

    /** A kernel load of a non-canonical address, or of a user address on arm64 with no user mm, faults (it read the linear map). */
    @Test
    void kernelLoadsOfAddressesNoKernelTableCovers() {
        kernels.expect("kernel-oops");
        new SimCpu(0).runAs(() -> {
            Kernel x86 = kernels.kernel(KernelConfig.defaults().withRam(1L << 30));
            KernelMappings kx = new KernelMappings(x86);
            assertThat(kx.boot().ok()).isTrue();
            assertThat(kx.access(0x0000888000100000L)).as("non-canonical").isInstanceOf(ptlab.kmap.Translation.Fault.class);
            assertThat(kx.access(kx.layout().linearVa(0x100000))).isInstanceOf(ptlab.kmap.Translation.Mapped.class);
            Kernel arm = kernels.kernel(KernelConfig.of(Architectures.byName("arm64-4k-48")).withRam(1L << 30));
            KernelMappings ka = new KernelMappings(arm);
            assertThat(ka.boot().ok()).isTrue();
            assertThat(ka.access(0x200000)).as("TTBR0 with no user mm").isInstanceOf(ptlab.kmap.Translation.Fault.class);
            assertThat(ka.access(0x0001000000000000L)).as("non-canonical").isInstanceOf(ptlab.kmap.Translation.Fault.class);
            assertThat(ka.access(ka.layout().linearVa(0x200000))).isInstanceOf(ptlab.kmap.Translation.Mapped.class);
        });
    }
}
