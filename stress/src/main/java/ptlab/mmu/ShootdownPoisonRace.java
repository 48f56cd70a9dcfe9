package ptlab.mmu;

import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Arbiter;
import org.openjdk.jcstress.annotations.Expect;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import java.util.concurrent.atomic.AtomicInteger;
import org.openjdk.jcstress.infra.results.I_Result;
import ptlab.arch.Level;
import ptlab.cpu.SimCpu;
import ptlab.cpu.ViolationLog;
import ptlab.pgtable.Installer;
import ptlab.pgtable.KernelConfig;
import ptlab.pgtable.Mm;
import ptlab.pgtable.MmKind;
import ptlab.pgtable.PageTables;

/**
 * The shootdown's poisoned tag (CpuMmu notes, "Shootdown protocol") against the CPU's drain,
 * which restores the tag: a flusher posts a flush of the CPU's ASID while the CPU drains.
 * Afterwards a translation of a page the CPU caches must not hit while the request is still
 * queued (the restore overwrote the poison and nothing else makes the CPU look): not through
 * the base-page entry, nor through the 2M block entry, which the slow path probes first with
 * the fast path's tag load. Every other instance checks the block: the first translation
 * after the race drains, so one instance can check only one of the two. r1: 0 if the request
 * was applied first or the translation missed, 1 for a base-page hit, 2 for a block hit.
 * Package ptlab.mmu: post and drain are package-private.
 */
@JCStressTest
@Outcome(id = "0", expect = Expect.ACCEPTABLE, desc = "the queued flush is applied before any hit")
@Outcome(id = "1", expect = Expect.FORBIDDEN, desc = "a base-page hit while a posted flush of its ASID waits")
@Outcome(id = "2", expect = Expect.FORBIDDEN, desc = "a 2M block hit while a posted flush of its ASID waits")
@State
public class ShootdownPoisonRace {
    private static final long VA = 0x4000_0000L;
    /** The next 2M: a PMD leaf (a THP's entry), translated at an offset only a block entry gives. */
    private static final long VB = 0x4020_0000L;
    private static final AtomicInteger INSTANCES = new AtomicInteger();
    private final CpuMmu cpu;
    private final boolean block = (INSTANCES.getAndIncrement() & 1) != 0;
    private final FlushRequest flush;

    public ShootdownPoisonRace() {
        // A small machine without the mm layer (x86-64, the default): one user leaf written by hand.
        PageTables pt = new PageTables(KernelConfig.defaults().withRam(8L << 20), new ViolationLog(false));
        Mmu mmu = new Mmu(pt);
        Mm mm = pt.newMm("jcstress", MmKind.USER);
        Installer in = new Installer(pt);
        PageTables.write(in.walkAlloc(mm, VA, Level.PTE, null), pt.geometry().index(Level.PTE, VA),
                0x5000L | 0x67); // present, writable, user, accessed, dirty
        PageTables.write(in.walkAlloc(mm, VB, Level.PMD, null), pt.geometry().index(Level.PMD, VB),
                0x40_0000L | 0xe7); // the same and PS: a 2M page at 4M
        cpu = mmu.attach(new SimCpu(0), 1, 1);
        cpu.switchMm(mm);
        cpu.translatePa(VA, AccessKind.READ, Privilege.USER); // cached
        cpu.translatePa(VB, AccessKind.READ, Privilege.USER); // cached in the block set
        flush = new FlushRequest(FlushRequest.Kind.MM, mmu.context(mm).asid, 0, 0);
    }

    @Actor
    public void cpu() {
        cpu.drain();
    }

    @Actor
    public void flusher() {
        cpu.post(flush);
    }

    @Arbiter
    public void after(I_Result r) {
        long misses = cpu.misses();
        cpu.translatePa(block ? VB + 0x1000 : VA, AccessKind.READ, Privilege.USER);
        r.r1 = cpu.misses() == misses && cpu.hasQueuedFlushes() ? (block ? 2 : 1) : 0;
    }
}
