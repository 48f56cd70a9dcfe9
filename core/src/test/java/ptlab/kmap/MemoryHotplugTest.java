package ptlab.kmap;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import ptlab.arch.Level;
import ptlab.check.CheckedKernels;
import ptlab.cpu.SimCpu;
import ptlab.mm.Errno;
import ptlab.mm.Process;
import ptlab.pgtable.PageTables;

/**
 * arch_add_memory and seed 001: on x86-64 a hot-add whose linear map and vmemmap need new
 * top-level entries must sync them into every user PGD before a CPU running a user mm uses
 * them. 32 TiB of new RAM needs a new PGD entry for both (vmemmap: 32 TiB / 4K * 64 B = 512 GiB).
 */
class MemoryHotplugTest {
    private static final long AT = 32L << 40;
    private static final long SIZE = 1L << 30;

    @RegisterExtension
    final CheckedKernels checked = new CheckedKernels();

    private KernelMappings km;
    private Process proc;

    private void boot() {
        km = Machines.boot(checked, "x86_64-4l", 4L << 30);
        proc = km.kernel().newProcess("user");
    }

    /** Runs {@code body} on a CPU whose current mm is the user process's (CR3 = its PGD). */
    private <T> T onUserCpu(java.util.function.Supplier<T> body) {
        SimCpu cpu = new SimCpu(7);
        cpu.setCurrentMm(proc.mm());
        Object[] out = new Object[1];
        cpu.runAs(() -> out[0] = body.get());
        @SuppressWarnings("unchecked")
        T t = (T) out[0];
        return t;
    }

    @Test
    void fixedOrderSyncsEveryUserPgdBeforeTheFirstTouch() {
        boot();
        Process second = km.kernel().newProcess("other");
        PageTables pt = km.pageTables();
        long nr = pt.stats().nrPagetable();
        KmapResult r = onUserCpu(() -> new MemoryHotplug(km).addMemory(AT, SIZE, MemoryHotplug.Order.FIXED));
        assertTrue(r.ok(), r.toString());
        for (Process p : List.of(proc, second)) {
            Translation t = Translations.translate(pt, p.mm(), km.layout().linearVa(AT + SIZE - 4096));
            assertEquals(AT + SIZE - 4096, ((Translation.Mapped) t).pa(), p + " sees the new linear map");
            assertTrue(Translations.translate(pt, p.mm(), km.layout().structPageVa(AT >>> 12)) instanceof Translation.Mapped);
        }
        // Later tables come through the normal path with a ctor: linear PUD, vmemmap PUD + PMD.
        assertEquals(nr + 3, pt.stats().nrPagetable());
        assertEquals(Level.PUD, ((Translation.Mapped) Translations.translate(pt, pt.initMm(), km.layout().linearVa(AT))).level());
    }

    @Test
    void populatingWithoutSyncLeavesUserMmsFaulting() {
        boot();
        checked.expect("kernel-oops");
        checked.expect("kernel-half");
        KmapResult r = onUserCpu(() -> new MemoryHotplug(km).addMemory(AT, SIZE, MemoryHotplug.Order.NO_SYNC));
        assertEquals(Errno.EFAULT, r.errno(), "memmap_init oopses on the user CPU");
        Translation t = onUserCpu(() -> km.access(km.layout().linearVa(AT)));
        assertEquals(new Translation.Fault(Level.PGD), t);
        assertTrue(ptlab.check.Checker.check(km.pageTables()).stream().anyMatch(v -> v.kind().equals("kernel-half")));
    }

    @Test
    void touchingVmemmapBeforeTheSyncFaults() {
        boot();
        checked.expect("kernel-oops");
        KmapResult r = onUserCpu(() -> new MemoryHotplug(km).addMemory(AT, SIZE, MemoryHotplug.Order.TOUCH_BEFORE_SYNC));
        assertEquals(Errno.EFAULT, r.errno());
        assertTrue(km.pageTables().log().snapshot().get(0).detail().contains("running user"));
        // The late sync did reach the user PGD: the checker finds no kernel-half difference.
        assertTrue(ptlab.check.Checker.check(km.pageTables()).stream().noneMatch(v -> v.kind().equals("kernel-half")));
    }

    @Test
    void hotAddOnInitMmCpuNeverFaultsEvenWithoutSync() {
        // Negative control for the two tests above: the bug needs a CPU that runs a user mm.
        boot();
        checked.expect("kernel-half");
        assertTrue(new MemoryHotplug(km).addMemory(AT, SIZE, MemoryHotplug.Order.NO_SYNC).ok());
    }

    @Test
    void arm64HotAddNeedsNoSync() {
        km = Machines.boot(checked, "arm64-4k-48", 1L << 30);
        proc = km.kernel().newProcess("user");
        KmapResult r = onUserCpu(() -> new MemoryHotplug(km).addMemory(4L << 30, SIZE, MemoryHotplug.Order.NO_SYNC));
        assertTrue(r.ok(), "TTBR1: the kernel has its own root");
    }

    @Test
    void misalignedOrOverlappingHotAddIsEinval() {
        boot();
        MemoryHotplug h = new MemoryHotplug(km);
        assertEquals(Errno.EINVAL, h.addMemory(AT + 4096, SIZE, MemoryHotplug.Order.FIXED).errno());
        assertEquals(Errno.EINVAL, h.addMemory(0, SIZE, MemoryHotplug.Order.FIXED).errno());
    }
}
