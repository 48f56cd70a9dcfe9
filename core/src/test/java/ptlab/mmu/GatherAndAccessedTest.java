package ptlab.mmu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import ptlab.arch.Architectures;
import ptlab.arch.Level;
import ptlab.check.CheckedKernels;
import ptlab.cpu.SimCpu;
import ptlab.mm.Errno;
import ptlab.mm.Kernel;
import ptlab.mm.Process;
import ptlab.pgtable.KernelConfig;
import ptlab.phys.PageDesc;

/** mmu_gather order, ceiling and batching; accessed/dirty updates per family. */
class GatherAndAccessedTest {
    @RegisterExtension
    final CheckedKernels checked = new CheckedKernels();

    private static final long BASE = 0x4000_0000L;

    /** munmap: PTE_CLEAR (unhook) → TLB_INVALIDATE → FREE, observed in that order. */
    @Test
    void munmapUnhooksThenInvalidatesThenFrees() {
        Kernel k = checked.kernel(KernelConfig.defaults().withRam(1L << 30));
        Process p = k.newProcess("p");
        assertEquals(Errno.OK, p.mmap(BASE, 8 * 4096, 3, false));
        assertEquals(Errno.OK, p.touch(BASE, 8 * 4096, true));
        CpuMmu cpu = k.mmu().attach(SimCpu.current());
        cpu.switchMm(p.mm());
        assertFalse(Translation.isFault(cpu.translatePa(BASE, AccessKind.READ, Privilege.USER)));
        PageDesc pte = k.walker().installer().lookup(p.mm(), BASE, Level.PTE);
        List<String> events = new ArrayList<>();
        k.mmu().addObserver(req -> events.add("INVALIDATE " + req.kind()
                + (k.walker().installer().lookup(p.mm(), BASE, Level.PTE) == null ? " unhooked" : " still-hooked")));
        k.mmu().setTableFreer(tables -> {
            events.add("FREE " + tables.size() + (tables.contains(pte) ? " pte" : ""));
            tables.forEach(k.pageTables()::freeTable);
        });
        assertEquals(Errno.OK, p.munmap(BASE, 8 * 4096));
        String last = events.get(events.size() - 1);
        assertTrue(last.startsWith("FREE") && last.endsWith("pte"), events.toString());
        String beforeFree = events.get(events.size() - 2);
        assertTrue(beforeFree.startsWith("INVALIDATE") && beforeFree.endsWith("unhooked"), events.toString());
        assertTrue(pte.poisoned(), "the PTE table is freed after the invalidate");
        cpu.leave();
    }

    @Test
    void rangeAboveTheCeilingFlushesTheWholeMm() {
        Kernel k = checked.kernel(KernelConfig.defaults().withRam(1L << 30));
        Process p = k.newProcess("p");
        CpuMmu cpu = k.mmu().attach(SimCpu.current());
        cpu.switchMm(p.mm());
        List<FlushRequest> seen = new ArrayList<>();
        k.mmu().addObserver(seen::add);
        try (TlbGather tlb = k.mmu().gather(p.mm())) {
            assertTrue(k.mmu().flushPending(p.mm()));
            tlb.removeTlbEntry(BASE, 33 * 4096L);
        }
        try (TlbGather tlb = k.mmu().gather(p.mm())) {
            tlb.removeTlbEntry(BASE, 4096);
            tlb.removeTlbEntry(BASE + 33 * 4096L, 4096); // batched: the range grows to 34 pages
        }
        assertFalse(k.mmu().flushPending(p.mm()));
        assertEquals(FlushRequest.Kind.RANGE, seen.get(0).kind());
        assertEquals(BASE + 33 * 4096L, seen.get(0).end());
        assertEquals(FlushRequest.Kind.MM, seen.get(1).kind());
        assertEquals(2, seen.size());
        cpu.leave();
    }

    @Test
    void fullTableBatchFlushesAndFreesEarly() {
        Kernel k = checked.kernel(KernelConfig.defaults().withRam(1L << 30));
        Process p = k.newProcess("p");
        List<Integer> frees = new ArrayList<>();
        k.mmu().setTableFreer(tables -> {
            frees.add(tables.size());
            tables.forEach(k.pageTables()::freeTable);
        });
        try (TlbGather tlb = k.mmu().gather(p.mm())) {
            for (int i = 0; i <= TlbGather.BATCH; i++) {
                PageDesc t = k.pageTables().allocTable(p.mm(), p.mm(), Level.PTE, "test");
                tlb.removeTable(t, BASE + i * (2L << 20), BASE + (i + 1) * (2L << 20));
                if (i == TlbGather.BATCH - 1) {
                    assertEquals(List.of(TlbGather.BATCH), frees, "tlb_flush_mmu when the batch is full");
                }
            }
        }
        assertEquals(List.of(TlbGather.BATCH, 1), frees);
    }

    static Stream<String> archs() {
        return Architectures.names().stream();
    }

    /** A load sets the accessed state, a store the dirty state, by CAS on the real word. */
    @ParameterizedTest
    @MethodSource("archs")
    void accessedAndDirtyUpdates(String name) {
        MmuFixture f = new MmuFixture(checked, Architectures.byName(name));
        long va = f.va(Level.PTE);
        f.neutralPath(va, Level.PTE);
        long pa = f.pa(Level.PTE);
        long clean;
        long accessed;
        long dirtyMask;
        long dirtyValue;
        switch (f.family()) {
            case "x86": // A bit 5, D bit 6
                clean = MmuFixture.x86Leaf(Level.PTE, pa, true, true, false) & ~((1L << 5) | (1L << 6));
                accessed = 1L << 5;
                dirtyMask = 1L << 6;
                dirtyValue = 1L << 6;
                break;
            case "arm64": // AF bit 10; DBM page with AP[2] set becomes AP[2] clear
                clean = MmuFixture.arm64Leaf(Level.PTE, pa, true, true, true, true, true) & ~(1L << 10);
                accessed = 1L << 10;
                dirtyMask = 1L << 7;
                dirtyValue = 0;
                break;
            default: // A bit 6, D bit 7
                clean = MmuFixture.riscvLeaf(pa, true, true, false, true) & ~((1L << 6) | (1L << 7));
                accessed = 1L << 6;
                dirtyMask = 1L << 7;
                dirtyValue = 1L << 7;
        }
        f.set(va, Level.PTE, clean);
        assertFalse(Translation.isFault(f.cpu.translatePa(va, AccessKind.READ, Privilege.USER)));
        long afterRead = f.get(va, Level.PTE);
        assertEquals(accessed, afterRead & accessed, "accessed after a load");
        assertEquals(clean & dirtyMask, afterRead & dirtyMask, "still clean after a load");
        // The TLB entry from the load must not allow the store without a walk that sets dirty.
        assertFalse(Translation.isFault(f.cpu.translatePa(va, AccessKind.WRITE, Privilege.USER)));
        assertEquals(dirtyValue, f.get(va, Level.PTE) & dirtyMask, "dirty after a store");
        assertNull(k(f).mmu().audit().stream().findFirst().orElse(null));
        f.restore();
    }

    private static Kernel k(MmuFixture f) {
        return f.k;
    }
}
