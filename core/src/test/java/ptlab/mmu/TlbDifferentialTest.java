package ptlab.mmu;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import ptlab.arch.Architecture;
import ptlab.arch.Architectures;
import ptlab.arch.Level;
import ptlab.check.CheckedKernels;
import ptlab.cpu.SimCpu;
import ptlab.kmap.KernelMappings;
import ptlab.mm.Advice;
import ptlab.mm.Kernel;
import ptlab.mm.Process;
import ptlab.pgtable.KernelConfig;

/**
 * The TLB against no TLB: random sequences of switch_mm between processes that map the same
 * addresses to different pages, translations of user, kernel and non-canonical addresses with
 * every access kind and privilege, mprotect, munmap, mmap, MADV_DONTNEED, exits and new
 * processes (enough of them that dead mms' ASIDs are reused). Every translation through the
 * CPU's TLB must give what a read-only walk of the current tables gives at that moment: the
 * same pa, or a fault. A wrong key (an ASID or address bit left out), a missing flush or an
 * ASID reused without its flush shows as a difference, printed with the seed and the step.
 *
 * <p>Each process also maps a second run of pages {@link #ALIAS_PAGES} pages further: the
 * same TLB slots with other keys. The kernel addresses include vmalloc pages, mapped by PTEs:
 * base-page entries in the upper half (global ones on x86-64).
 */
class TlbDifferentialTest {
    @RegisterExtension
    final CheckedKernels checked = new CheckedKernels();

    private static final long BASE = 0x4000_0000L;
    private static final int PAGES = 48;
    /** Where each process maps two PMD-sized THP ranges, on geometries with 2 MiB PMDs. */
    private static final long THP_BASE = 0x8000_0000L;
    private static final long SEED = Long.getLong("ptlab.tlbdiff.seed", 0x71bd1ffL);

    /** Pages between a page and its alias: a multiple of the base set's entries, so both share a slot. */
    private static final int ALIAS_PAGES = 4096;

    private static long aliasOffset(long page) {
        return ALIAS_PAGES * page;
    }

    @ParameterizedTest
    @MethodSource("ptlab.mmu.MmuFixture#architectures")
    void everyTranslationEqualsAWalkOfTheCurrentTables(String name) {
        Architecture a = Architectures.byName(name);
        Kernel k = checked.kernel(KernelConfig.of(a).withRam(1L << 30));
        KernelMappings km = new KernelMappings(k);
        long kernelVa = km.layout().pageOffset();
        // Kernel pages mapped by PTEs (global entries on x86-64): base-set entries in the upper half.
        KernelMappings.Vmalloc vm = km.vmalloc(4);
        assertThat(vm.result().ok()).as("vmalloc: %s", vm.result()).isTrue();
        long vmallocVa = vm.va();
        long page = a.geometry().pageSize();
        // THP where the PMD maps 2 MiB (4K granules): huge pages, the huge zero page and splits
        // put block entries in the TLB; elsewhere a PMD block is too large for this RAM.
        long huge = a.geometry().entrySize(Level.PMD) == 2L << 20 ? 2L << 20 : 0;
        SplittableRandom r = new SplittableRandom(SEED ^ name.hashCode());
        CpuMmu cpu = k.mmu().attach(new SimCpu(0), 256, 8); // small: evictions and conflicts
        List<Process> procs = new ArrayList<>();
        int made = 0;
        for (int i = 0; i < 3; i++) {
            procs.add(newProcess(k, "p" + made++, page, huge, r));
        }
        Process cur = procs.get(0);
        cpu.switchMm(cur.mm());
        WalkResult ref = new WalkResult();
        HardwareWalker hw = new HardwareWalker(a.geometry(), a.format(), HardwareRules.of(a.format()), k.pageTables().memory());
        long va = BASE;
        AccessKind kind = AccessKind.READ;
        Privilege priv = Privilege.USER;
        int translations = 0;
        int hits = 0;
        int thpHits = 0;
        for (int step = 0; step < 4000; step++) {
            int op = r.nextInt(100);
            String what;
            if (op < 1 && huge > 0) {
                // A burst of accesses to one kind of page: enough hits of the slow path's first
                // probe for the fast path to change sets (both ways), each access compared too.
                boolean thp = r.nextBoolean();
                for (int n = 0; n < 3 * CpuMmu.SWAP_AFTER; n++) {
                    long bva = thp ? THP_BASE + (r.nextLong(2 * huge) & ~7) : BASE + r.nextInt(PAGES) * page + (r.nextInt((int) page) & ~7);
                    AccessKind bkind = r.nextInt(4) == 0 ? AccessKind.WRITE : AccessKind.READ;
                    long misses = cpu.misses();
                    long got = cpu.translatePa(bva, bkind, Privilege.USER);
                    boolean hit = cpu.misses() == misses;
                    hits += hit ? 1 : 0;
                    thpHits += hit && thp ? 1 : 0;
                    translations++;
                    long want = reference(k, hw, cpu, bva, bkind, Privilege.USER, ref);
                    String at = String.format("%s seed 0x%x step %d burst %d: %s 0x%x in %s", name, SEED, step, n, bkind, bva, cur.mm());
                    assertThat(Translation.isFault(got)).as(at + ": fault").isEqualTo(Translation.isFault(want));
                    if (!Translation.isFault(got)) {
                        assertThat(got).as(at + ": pa").isEqualTo(want);
                    }
                }
                what = thp ? "thp burst" : "base burst";
            } else if (op < 70) {
                if (r.nextInt(3) != 0) { // else the last access again: a hit if it was mapped
                    va = pick(r, a, page, huge, kernelVa, vmallocVa);
                    kind = r.nextInt(5) == 0 ? AccessKind.values()[r.nextInt(AccessKind.values().length)] : r.nextBoolean() ? AccessKind.READ : AccessKind.WRITE;
                    priv = r.nextInt(6) == 0 ? Privilege.KERNEL : Privilege.USER;
                }
                long misses = cpu.misses();
                long got = cpu.translatePa(va, kind, priv);
                boolean hit = cpu.misses() == misses;
                hits += hit ? 1 : 0;
                thpHits += hit && huge > 0 && va >= THP_BASE && va < THP_BASE + 2 * huge ? 1 : 0;
                translations++;
                long want = reference(k, hw, cpu, va, kind, priv, ref);
                String at = String.format("%s seed 0x%x step %d: %s %s 0x%x in %s", name, SEED, step, priv, kind, va, cur.mm());
                assertThat(Translation.isFault(got)).as(at + ": fault").isEqualTo(Translation.isFault(want));
                if (!Translation.isFault(got)) {
                    assertThat(got).as(at + ": pa").isEqualTo(want);
                }
                continue;
            } else if (op < 74 && huge > 0) {
                // THP: split a huge PMD (mprotect or zap of a part), zap or protect it whole, or
                // map it again (a huge page on a write touch, the huge zero page on a read).
                Process p = procs.get(r.nextInt(procs.size()));
                long at = THP_BASE + r.nextInt(2) * huge;
                boolean part = r.nextBoolean();
                long from = part ? at + r.nextInt((int) (huge / page)) * page : at;
                long len = part ? (1 + r.nextInt(8)) * page : huge;
                switch (r.nextInt(4)) {
                    case 0 -> p.mprotect(from, len, r.nextInt(4));
                    case 1 -> p.madvise(from, len, Advice.DONTNEED);
                    case 2 -> p.mprotect(at, huge, 3);
                    default -> p.touch(at, huge, r.nextBoolean());
                }
                what = "thp";
            } else if (op < 78) {
                cur = procs.get(r.nextInt(procs.size()));
                cpu.switchMm(cur.mm());
                what = "switch";
            } else if (op < 84) {
                Process p = procs.get(r.nextInt(procs.size()));
                long at = BASE + r.nextInt(PAGES) * page;
                p.mprotect(at, (1 + r.nextInt(4)) * page, r.nextInt(8) & 3);
                what = "mprotect";
            } else if (op < 88) {
                Process p = procs.get(r.nextInt(procs.size()));
                long at = BASE + r.nextInt(PAGES) * page;
                p.madvise(at, (1 + r.nextInt(4)) * page, Advice.DONTNEED);
                what = "dontneed";
            } else if (op < 92) {
                Process p = procs.get(r.nextInt(procs.size()));
                long at = BASE + r.nextInt(PAGES) * page;
                long len = (1 + r.nextInt(4)) * page;
                p.munmap(at, len);
                if (r.nextBoolean()) {
                    p.mmap(at, len, 3, false);
                    p.touch(at, len, r.nextBoolean());
                }
                what = "remap";
            } else {
                // An exit and a new process; now and then a burst of short-lived ones, so that
                // the ASID space runs out and dead mms' ASIDs are reused.
                Process gone = procs.remove(r.nextInt(procs.size()));
                procs.add(newProcess(k, "p" + made++, page, huge, r));
                gone.exit();
                for (int b = r.nextInt(8) == 0 ? 700 : 0; b > 0; b--) {
                    Process brief = k.newProcess("p" + made++);
                    cpu.switchMm(brief.mm()); // it gets an ASID
                    brief.exit();
                }
                cur = procs.get(r.nextInt(procs.size()));
                cpu.switchMm(cur.mm());
                what = "exit+new";
            }
            assertThat(k.mmu().audit()).as("%s seed 0x%x step %d after %s", name, SEED, step, what).isEmpty();
        }
        System.out.printf("TlbDifferentialTest %s: %d translations, %d TLB hits (%d in THP ranges), %d changes of the fast path's set, %d processes (ASIDs reused), identical to the walk%n",
                name, translations, hits, thpHits, cpu.predictionSwaps(), made);
        assertThat(made).as("processes made: more than the ASIDs, so some were reused").isGreaterThan(CpuMmu.MAX_ASID);
        assertThat(hits).as("TLB hits among %d translations", translations).isGreaterThan(translations / 20);
        if (huge > 0) {
            assertThat(thpHits).as("TLB hits in the THP ranges").isGreaterThan(translations / 50);
            assertThat(cpu.predictionSwaps()).as("changes of the fast path's set").isGreaterThan(10);
        }
        cpu.leave();
        for (Process p : procs) {
            p.exit();
        }
    }

    /**
     * A process that maps every page of [BASE, BASE + PAGES pages), touches some, writes some;
     * with {@code huge} > 0 also two MADV_HUGEPAGE ranges of that size at THP_BASE, the first
     * written (a huge page), the second read (the huge zero page) or left untouched.
     */
    private static Process newProcess(Kernel k, String name, long page, long huge, SplittableRandom r) {
        Process p = k.newProcess(name);
        p.mmap(BASE, PAGES * page, 3, false);
        p.mmap(BASE + aliasOffset(page), PAGES * page, 3, false);
        for (int i = 0; i < PAGES; i++) {
            int t = r.nextInt(3);
            if (t > 0) {
                p.touch(BASE + i * page, page, t == 2);
                p.touch(BASE + aliasOffset(page) + i * page, page, t == 1);
            }
        }
        if (huge > 0) {
            p.mmap(THP_BASE, 2 * huge, 3, false);
            p.madvise(THP_BASE, 2 * huge, Advice.HUGEPAGE);
            p.touch(THP_BASE, huge, true);
            if (r.nextBoolean()) {
                p.touch(THP_BASE + huge, huge, false);
            }
        }
        return p;
    }

    /** A user page (mostly), a kernel linear-map or vmalloc address, or a non-canonical alias of a user page. */
    private static long pick(SplittableRandom r, Architecture a, long page, long huge, long kernelVa, long vmallocVa) {
        long user = BASE + r.nextInt(PAGES + 2) * page + (r.nextInt((int) page) & ~7) + (r.nextInt(3) == 0 ? aliasOffset(page) : 0);
        if (huge > 0 && r.nextInt(4) == 0) {
            // Anywhere in the THP ranges: a block entry must give the offset within its block.
            user = THP_BASE + (r.nextLong(2 * huge) & ~7);
        }
        int c = r.nextInt(10);
        if (c < 7) {
            return user;
        }
        if (c < 8) {
            return r.nextBoolean() ? kernelVa + r.nextInt(1 << 20) * 8L : vmallocVa + r.nextInt(4) * page + (r.nextInt((int) page) & ~7);
        }
        int vaBits = a.geometry().vaBits();
        return user | 1L << (vaBits + r.nextInt(64 - vaBits));
    }

    /**
     * What the tables give now: the pa, or a fault word, from the generic hardware walk with
     * no TLB (it sets A/D bits as the hardware does; the TLB path ran first and set any it needed).
     */
    private static long reference(Kernel k, HardwareWalker hw, CpuMmu cpu, long va, AccessKind kind, Privilege priv, WalkResult out) {
        Architecture a = k.pageTables().arch();
        if (!a.isCanonical(va)) {
            return Translation.faultWord(a.geometry().root(), FaultReason.NOT_CANONICAL);
        }
        int need = Rights.need(kind, priv);
        boolean kernelRoot = !a.sharesKernelHalf() && va < 0;
        long root = k.pageTables().pa((kernelRoot ? k.pageTables().initMm() : cpu.currentMm()).pgd());
        if (!hw.walk(root, va, need, kind, cpu.controls(), out)) {
            return out.fault;
        }
        return out.pagePa | (va & (hw.entrySize(out.levelIndex) - 1));
    }
}
