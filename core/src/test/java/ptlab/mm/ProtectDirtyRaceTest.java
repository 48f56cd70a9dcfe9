package ptlab.mm;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import ptlab.arch.Level;
import ptlab.arch.PageProt;
import ptlab.check.CheckedKernels;
import ptlab.cpu.SimCpu;
import ptlab.mmu.AccessKind;
import ptlab.mmu.CpuMmu;
import ptlab.mmu.Privilege;
import ptlab.mmu.Translation;
import ptlab.pgtable.KernelConfig;
import ptlab.phys.PageDesc;
import ptlab.phys.Words;
import ptlab.range.PageRanges;

/**
 * Kernel read-modify-writes of live entries racing a hardware dirty-bit update (the MMU's
 * compare-and-set of D): mprotect ({@code ptep_modify_prot_start/commit}), fork
 * ({@code ptep_set_wrprotect}) and the THP split ({@code pmdp_invalidate}). Each must build
 * its result from the value its atomic operation returned, so a D set after its first read
 * survives; each had rebuilt from the first read, and lost it: a written page then looked
 * clean, which reclaim would drop without writeback.
 *
 * <p>Each round cleans the entries (clears D, flushes), then a CPU writes through the MMU
 * while another thread runs the operation. Every page whose write was translated must end
 * dirty. Each test fails on the old code (hundreds to thousands of lost bits per run).
 */
class ProtectDirtyRaceTest {
    @RegisterExtension
    final CheckedKernels checked = new CheckedKernels();

    private static final long ADDR = 0x7f00_0000_0000L;
    private static final int PAGES = 512; // one PTE table
    private static final long LEN = PAGES * 4096L;
    private static final int ROUNDS = 3000;
    private static final int SPLIT_ROUNDS = 3000;
    private static final int HUGE_ROUNDS = 20_000;
    private static final int FORK_ROUNDS = 1500; // a fork and an exit per round cost more

    @Test
    void aDirtyBitSetDuringMprotectIsKept() throws Exception {
        ptes(false);
    }

    /** fork's {@code ptep_set_wrprotect} of the parent's PTEs: the same race, the same rule. */
    @Test
    void aDirtyBitSetDuringForkIsKept() throws Exception {
        ptes(true);
    }

    /**
     * The THP split ({@code __split_huge_pmd} under a partial mprotect): the PTEs inherit the
     * dirty state of the value {@code pmdp_invalidate} exchanged out, not of an earlier read.
     */
    @Test
    void aDirtyBitSetDuringAThpSplitIsKept() throws Exception {
        Kernel k = checked.kernel(KernelConfig.defaults().withThp(ptlab.pgtable.ThpMode.ALWAYS));
        Process p = k.newProcess("t");
        long len = 2L << 20;
        race(k, p, SPLIT_ROUNDS, "the split", new Round() {
            @Override
            public void prepare(int r) {
                assertThat(p.mmap(ADDR, len, 3, false).ok()).isTrue();
                assertThat(p.touch(ADDR, 4096, true).ok()).isTrue(); // one THP, dirty
                PageDesc pmdTable = k.installer.lookup(p.mm, ADDR, k.pmdLevel);
                int pmdIdx = k.geo.index(k.pmdLevel, ADDR);
                long pmd = Words.getAcquire(pmdTable.words(), pmdIdx);
                assertThat(k.fmt.isLeaf(k.pmdLevel, pmd)).isTrue();
                Words.setRelease(pmdTable.words(), pmdIdx, k.fmt.mkClean(pmd));
                k.flushTlbRange(p.mm, ADDR, ADDR + len);
            }

            @Override
            public void operate(int r) {
                assertThat(p.mprotect(ADDR, len / 2, 7).ok()).isTrue(); // half the THP: split, then protect
            }

            @Override
            public long entry(int page) {
                PageDesc pte = k.installer.lookup(p.mm, ADDR, Level.PTE);
                return Words.getAcquire(pte.words(), k.geo.index(Level.PTE, ADDR) + page);
            }

            @Override
            public void finish(int r) {
                assertThat(p.munmap(ADDR, len).ok()).isTrue();
            }
        });
    }

    /**
     * {@code PageRanges.protect} of a raw huge leaf ({@code change_huge_pmd}): the same rule for
     * the range layer, which cleared the leaf and rebuilt it from an earlier read.
     */
    @Test
    void aDirtyBitSetDuringARawHugeProtectIsKept() throws Exception {
        Kernel k = checked.kernel(KernelConfig.defaults());
        Process p = k.newProcess("t");
        long len = 2L << 20;
        PageRanges ranges = new PageRanges(k.pageTables());
        PageProt clean = PageProt.USER_RW.withDirty(false);
        long pa = k.alloc.allocate(9, ptlab.phys.Gfp.KERNEL, "test").pfnOrThrow() << k.geo.pageShift();
        ranges.map(p.mm, ADDR, pa, len, len, clean);
        race(k, p, HUGE_ROUNDS, "a raw huge protect", new Round() {
            @Override
            public void prepare(int r) {
                PageDesc pmdTable = k.installer.lookup(p.mm, ADDR, k.pmdLevel);
                int idx = k.geo.index(k.pmdLevel, ADDR);
                Words.setRelease(pmdTable.words(), idx, k.fmt.mkClean(Words.getAcquire(pmdTable.words(), idx)));
                k.flushTlbRange(p.mm, ADDR, ADDR + len);
            }

            @Override
            public void operate(int r) {
                ranges.protect(p.mm, ADDR, len, (r & 1) == 0 ? clean : clean.withExec(true));
            }

            @Override
            public long entry(int page) {
                PageDesc pmdTable = k.installer.lookup(p.mm, ADDR, k.pmdLevel);
                return Words.getAcquire(pmdTable.words(), k.geo.index(k.pmdLevel, ADDR));
            }

            @Override
            public void finish(int r) {
                if (r == HUGE_ROUNDS) {
                    ranges.unmap(p.mm, ADDR, len);
                    // The range layer only requests the flush; the MMU must get it before the
                    // frames go back (FreedFrameCheck): unhook, flush, free.
                    k.flushTlbRange(p.mm, ADDR, ADDR + len);
                    k.alloc.free(pa >>> k.geo.pageShift(), 9);
                }
            }
        });
    }

    private void ptes(boolean fork) throws Exception {
        Kernel k = checked.kernel(KernelConfig.defaults());
        Process p = k.newProcess("t");
        assertThat(p.mmap(ADDR, LEN, 3, false).ok()).isTrue();
        assertThat(p.touch(ADDR, LEN, true).ok()).isTrue();
        PageDesc pte = k.installer.lookup(p.mm, ADDR, Level.PTE);
        int idx0 = k.geo.index(Level.PTE, ADDR);
        Process[] child = new Process[1];
        race(k, p, fork ? FORK_ROUNDS : ROUNDS, fork ? "fork" : "mprotect", new Round() {
            @Override
            public void prepare(int r) {
                // Clean every page (as writeback would: clear D, then flush), so each write must set D
                // again; after a fork, also make it writable again (the COW fault's reuse, done directly).
                for (int i = 0; i < PAGES; i++) {
                    long e = Words.getAcquire(pte.words(), idx0 + i);
                    Words.setRelease(pte.words(), idx0 + i, k.fmt.mkClean(k.fmt.mkWrite(e)));
                }
                k.flushTlbRange(p.mm, ADDR, ADDR + LEN);
            }

            @Override
            public void operate(int r) {
                if (fork) {
                    child[0] = p.fork("c");
                } else {
                    // RW <-> RWX: a real change (an unchanged one returns before change_protection), writable throughout.
                    assertThat(p.mprotect(ADDR, LEN, (r & 1) == 0 ? 3 : 7).ok()).isTrue();
                }
            }

            @Override
            public long entry(int page) {
                return Words.getAcquire(pte.words(), idx0 + page);
            }

            @Override
            public void finish(int r) {
                if (child[0] != null) {
                    child[0].exit();
                    child[0] = null;
                }
            }
        });
    }

    /** One round's steps on the test thread, around the writer CPU's pass over the pages. */
    private interface Round {
        /** Before the writer starts: make the pages writable and clean, and flush. */
        void prepare(int r);

        /** The kernel operation, racing the writer. */
        void operate(int r);

        /** The PTE of {@code page} once both are done. */
        long entry(int page);

        /** After the check. */
        void finish(int r);
    }

    /**
     * Runs {@code rounds} rounds: prepare; then, at once, the writer CPU writes every page
     * through the MMU while this thread runs the operation; then every page whose write was
     * translated must be dirty.
     */
    private static void race(Kernel k, Process p, int rounds, String op, Round round) throws Exception {
        CpuMmu cpu = k.mmu().attach(new SimCpu(0));
        // Spin hand-offs rather than a barrier, so both sides start within nanoseconds of each other.
        AtomicInteger go = new AtomicInteger();
        AtomicInteger finished = new AtomicInteger();
        boolean[] wrote = new boolean[PAGES];
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Thread writer = new Thread(() -> {
            try {
                for (int r = 1; r <= rounds; r++) {
                    while (go.get() < r) {
                        Thread.onSpinWait();
                    }
                    cpu.switchMm(p.mm); // online: the operation's flush waits for this CPU's ack
                    for (int i = 0; i < PAGES; i++) {
                        wrote[i] = !Translation.isFault(cpu.translatePa(ADDR + i * 4096L, AccessKind.WRITE, Privilege.USER));
                    }
                    cpu.leave(); // acks the operation's shootdown and stops it waiting for us
                    finished.set(r);
                }
            } catch (Throwable t) {
                failure.set(t);
                finished.set(Integer.MAX_VALUE);
            }
        }, "cpu0");
        writer.setDaemon(true);
        writer.start();
        long lost = 0;
        long writes = 0;
        for (int r = 1; r <= rounds && failure.get() == null; r++) {
            round.prepare(r);
            go.set(r);
            round.operate(r);
            while (finished.get() < r) {
                Thread.onSpinWait();
            }
            for (int i = 0; i < PAGES; i++) {
                if (wrote[i]) {
                    writes++;
                    if (!k.fmt.isDirty(round.entry(i))) {
                        lost++;
                    }
                }
            }
            round.finish(r);
        }
        writer.join();
        assertThat(failure.get()).isNull();
        assertThat(writes).as("writes that got through").isPositive();
        assertThat(lost).as("written pages left clean by %s, of %d writes", op, writes).isZero();
        p.exit();
    }
}
