package ptlab.kmap;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import ptlab.arch.Architectures;
import ptlab.arch.Level;
import ptlab.check.CheckedKernels;
import ptlab.cpu.Violation;
import ptlab.pgtable.KernelConfig;
import ptlab.pgtable.PageTables;

/**
 * The linear-map split under stop_machine (seed 003): a boot CPU with BBML2_NOABORT, a
 * secondary without; the counting walk, the pool, PREEMPT_RT, the final flush.
 */
class LinearMapSplitTest {
    @RegisterExtension
    final CheckedKernels checked = new CheckedKernels();

    private KernelMappings boot(boolean rt, long ram) {
        KernelConfig cfg = KernelConfig.of(Architectures.byName("arm64-4k-48")).withRam(ram).withPreemptRt(rt);
        return Machines.boot(checked, cfg, new Cpus(3, true, false, true));
    }

    @Test
    void preallocatedSplitOnPreemptRtCountsExactlyAndAllocatesNothingInside() {
        KernelMappings km = boot(true, 4L << 30);
        PageTables pt = km.pageTables();
        // One 2M-unaligned split first so the map mixes PUD leaves, cont PMDs and PTE tables.
        // (inside stop_machine, flushed: cpu1 has no BBML2_NOABORT and must not see the live change)
        long at = km.layout().pageOffset() + (3L << 20) + 4096;
        assertEquals(ptlab.mm.Errno.EBUSY, km.splitKernelLeafMapping(at, at + 4096).errno());
        SplitPool pool = new SplitPool(pt);
        assertTrue(pool.prealloc(2).ok());
        StopMachine.run(km.cpus(), km.tracker(), () -> {
            KmapResult r = km.splitter().rangeSplitToPtes(at, at + 4096, pool);
            km.tracker().flushKernelRange(at & -(1L << 30), (at & -(1L << 30)) + (1L << 30));
            return r;
        });
        assertEquals(List.of(), pt.log().snapshot());
        assertEquals(2, pool.used());
        pool.freeLeftovers();
        List<Translations.Run> before = km.linearRuns();
        long frames = pt.allocator().allocatedFrames();
        long nr = pt.stats().nrPagetable();
        LinearMapSplit split = new LinearMapSplit(km);
        assertTrue(split.needed());
        long expected = 3 * (1 + 512) + 511; // three untouched 1G blocks, and 511 PMD blocks in the split one
        LinearMapSplit.Outcome o = split.run(LinearMapSplit.Mode.PREALLOCATED, false);
        assertTrue(o.result().ok(), o.toString());
        assertEquals(expected, o.counted());
        assertEquals(o.counted(), o.consumed(), "the counting walk equals the tables consumed");
        assertEquals(0, o.freed());
        assertEquals(frames + o.consumed(), pt.allocator().allocatedFrames(), "leftovers and the pointer array are freed");
        assertEquals(nr + o.consumed(), pt.stats().nrPagetable(), "every consumed table is constructed and counted");
        assertEquals(before, km.linearRuns());
        assertEquals(List.of(), pt.log().snapshot(), "no might-sleep, no bbm");
        assertFalse(km.tracker().hasPending(), "flush_tlb_kernel_range covered the linear map");
        Translation t = Translations.translate(pt, pt.initMm(), km.layout().pageOffset() + (3L << 30));
        assertEquals(Level.PTE, ((Translation.Mapped) t).level());
    }

    @Test
    void gfpAtomicInsideStopMachineIsAMightSleepViolationOnPreemptRt() {
        KernelMappings km = boot(true, 2L << 30);
        checked.expect("might-sleep");
        LinearMapSplit.Outcome o = new LinearMapSplit(km).run(LinearMapSplit.Mode.GFP_ATOMIC, false);
        assertTrue(o.result().ok());
        List<Violation> v = km.pageTables().log().snapshot();
        assertEquals(o.consumed(), v.size(), "one violation per table allocated inside stop_machine");
        assertTrue(v.get(0).detail().contains("inside stop_machine on PREEMPT_RT"), v.get(0).toString());
    }

    @Test
    void gfpAtomicIsFineWithoutPreemptRt() {
        KernelMappings km = boot(false, 2L << 30);
        LinearMapSplit.Outcome o = new LinearMapSplit(km).run(LinearMapSplit.Mode.GFP_ATOMIC, false);
        assertTrue(o.result().ok());
        assertEquals(2 * 513, o.consumed());
        assertEquals(List.of(), km.pageTables().log().snapshot());
    }

    @Test
    void leavingOutTheFlushLetsAParkedCpuWithoutBbml2ResumeWithStaleEntries() {
        KernelMappings km = boot(true, 1L << 30);
        checked.expect("bbm");
        new LinearMapSplit(km).omitFlush().run(LinearMapSplit.Mode.PREALLOCATED, false);
        List<BbmEvent> ev = km.tracker().events();
        assertEquals(BbmEvent.Kind.CONFLICT, ev.get(ev.size() - 1).kind());
        assertTrue(km.pageTables().log().snapshot().get(0).detail().contains("resumes from stop_machine"));
    }

    @Test
    void notNeededWhenEveryCpuHasBbml2() {
        KernelConfig cfg = KernelConfig.of(Architectures.byName("arm64-4k-48")).withRam(1L << 30);
        KernelMappings km = Machines.boot(checked, cfg, new Cpus(2, true, true));
        LinearMapSplit.Outcome o = new LinearMapSplit(km).run(LinearMapSplit.Mode.PREALLOCATED, false);
        assertEquals(0, o.consumed());
    }

    /** Secondaries are real threads reading the linear map; stop_machine parks them for the split. */
    @Test
    void secondaryCpusReadingTheLinearMapAreParkedAndSeeTheSameTranslations() throws Exception {
        KernelMappings km = boot(true, 2L << 30);
        PageTables pt = km.pageTables();
        AtomicBoolean stop = new AtomicBoolean();
        AtomicLong reads = new AtomicLong();
        AtomicLong wrong = new AtomicLong();
        AtomicLong duringStop = new AtomicLong();
        CountDownLatch done = new CountDownLatch(2);
        try (Cpus cpus = km.cpus()) {
            cpus.start();
            for (int id = 1; id <= 2; id++) {
                Cpus.Cpu c = cpus.get(id);
                Runnable[] batch = new Runnable[1];
                batch[0] = () -> {
                    long seed = reads.get() * 0x9E3779B97F4A7C15L + c.id();
                    for (int i = 0; i < 200; i++) {
                        long off = Math.floorMod(seed + i * 0x10001000L, 2L << 30) & -4096L;
                        Translation t = Translations.translate(pt, pt.initMm(), km.layout().linearVa(off));
                        if (!(t instanceof Translation.Mapped) || ((Translation.Mapped) t).pa() != off) {
                            wrong.incrementAndGet();
                        }
                        if (c.parked()) {
                            duringStop.incrementAndGet();
                        }
                        reads.incrementAndGet();
                    }
                    if (stop.get()) {
                        done.countDown();
                    } else {
                        c.submit(batch[0]);
                    }
                };
                c.submit(batch[0]);
            }
            while (reads.get() < 2000) {
                Thread.onSpinWait();
            }
            LinearMapSplit.Outcome o = new LinearMapSplit(km).run(LinearMapSplit.Mode.PREALLOCATED, false);
            long after = reads.get();
            while (reads.get() < after + 2000) {
                Thread.onSpinWait();
            }
            stop.set(true);
            assertTrue(done.await(30, TimeUnit.SECONDS));
            assertTrue(o.result().ok());
        }
        assertEquals(0, wrong.get(), "every read translated correctly");
        assertEquals(0, duringStop.get(), "no read ran while its CPU was parked");
        assertEquals(List.of(), pt.log().snapshot());
    }
}
