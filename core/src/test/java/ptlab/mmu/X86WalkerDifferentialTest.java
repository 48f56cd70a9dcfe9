package ptlab.mmu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import ptlab.arch.Architecture;
import ptlab.arch.Architectures;
import ptlab.arch.X86Format;
import ptlab.cpu.ViolationLog;
import ptlab.phys.AllocResult;
import ptlab.phys.BuddyAllocator;
import ptlab.phys.Gfp;
import ptlab.phys.PhysicalMemory;

/**
 * {@link X86Walker} against {@link HardwareWalker}, the definition: random x86-64 4- and
 * 5-level table graphs in simulated memory (random P, RW, US, PWT, PCD, A, D, PS/PAT, G, the
 * software bits, bits 52-62 and NX at every level; table pointers to any table, the root and
 * the walked table itself included; pointers to freed tables, to frames that never held a
 * table and outside RAM; leaf addresses misaligned for their size), random addresses, access
 * kinds, privileges and controls, and audit walks (need 0). Each walker has its own copy of
 * the memory, built from the same seed; after every walk the outcome (mapped fields or fault
 * word, or the exception), the log (use-after-free reports) and every table word (the A/D
 * compare-and-sets) must be equal. The memo state is shared in shape: each walker keeps its
 * own WalkResult across walks and both are dropped together now and then.
 *
 * <p>Not covered here: restarts after a lost compare-and-set (single thread: none is lost);
 * the two walks share that code shape, and ShootdownTest/GatherAndAccessedTest run the x86
 * walker under concurrent updates.
 */
class X86WalkerDifferentialTest {
    private static final int SEEDS = 12;
    private static final int CASES = 2500;
    private static final int TABLES = 20;
    private static final int FREED = 3;
    private static final long RAM = 64L << 20;
    private static final AccessKind[] KINDS = AccessKind.values();
    private static final Privilege[] PRIVS = Privilege.values();

    /** One machine: memory, the tables' pfns (freed ones last) and a frame that never held a table. */
    private static final class Machine {
        final PhysicalMemory mem;
        final long[] tables = new long[TABLES];
        final long dataPfn;

        Machine(long seed) {
            mem = new PhysicalMemory(12, RAM, new ViolationLog(false));
            BuddyAllocator buddy = new BuddyAllocator(mem);
            for (int t = 0; t < TABLES; t++) {
                tables[t] = ((AllocResult.Frames) buddy.allocate(0, Gfp.KERNEL, "test")).pfn();
                mem.tableDesc(tables[t], true);
            }
            dataPfn = ((AllocResult.Frames) buddy.allocate(0, Gfp.KERNEL, "test")).pfn();
            fill(new SplittableRandom(seed));
            for (int t = TABLES - FREED; t < TABLES; t++) {
                buddy.free(tables[t], 0);
            }
            buddy.drainAll();
            for (int t = TABLES - FREED; t < TABLES; t++) {
                assertTrue(mem.descOrNull(tables[t]).poisoned(), "freed table is poisoned");
            }
        }

        /** Hot indices are populated in every table, so that random addresses mostly follow populated paths. */
        private void fill(SplittableRandom r) {
            for (int t = 0; t < TABLES - FREED; t++) {
                long[] w = mem.descOrNull(tables[t]).words();
                for (int h : HOT) {
                    w[h] = randomEntry(r);
                }
                for (int n = 0; n < 24; n++) {
                    w[r.nextInt(512)] = randomEntry(r);
                }
            }
        }

        private long randomEntry(SplittableRandom r) {
            int kind = r.nextInt(100);
            if (kind < 4) {
                return 0;
            }
            if (kind < 8) {
                return r.nextLong(); // anything
            }
            long flags = r.nextLong() & 0xfff & ~X86Format.PAT_LARGE; // bits 0-11
            // Mostly permissive bits, so that many walks reach the leaf and map.
            if (r.nextInt(32) != 0) {
                flags |= X86Format.P;
            }
            if (r.nextInt(4) != 0) {
                flags |= X86Format.A | X86Format.D;
            }
            if (r.nextInt(8) != 0) {
                flags |= X86Format.US | X86Format.RW;
            }
            long high = r.nextLong() & 0xFFF0_0000_0000_0000L; // NX and bits 52-62
            if (r.nextInt(8) != 0) {
                high &= ~X86Format.NX;
            }
            if (kind < 75) { // a table pointer
                flags &= ~X86Format.PS;
                long pfn;
                int where = r.nextInt(100);
                if (where < 1) {
                    pfn = dataPfn; // never held a table
                } else if (where < 2) {
                    pfn = (RAM >>> 12) + r.nextInt(1 << 20); // outside RAM
                } else if (where < 5) {
                    pfn = tables[TABLES - FREED + r.nextInt(FREED)]; // freed: a walk reads poison
                } else {
                    pfn = tables[r.nextInt(TABLES - FREED)]; // live: the root, an ancestor, itself
                }
                return high | (pfn << 12) | flags;
            }
            // A leaf (a 4K page at the PTE level, PS decides above): an address aligned to 4K, 2M or 1G,
            // sometimes with PAT_LARGE or a stray low bit.
            if (r.nextInt(4) != 0) {
                flags |= X86Format.PS;
            }
            long pa = r.nextLong() & X86Format.PA_MASK;
            int align = r.nextInt(4);
            if (align == 1) {
                pa &= -(1L << 21);
            } else if (align == 2) {
                pa &= -(1L << 30);
            }
            if (r.nextInt(4) == 0) {
                pa |= X86Format.PAT_LARGE;
            }
            return high | pa | flags;
        }

        long[] snapshot() {
            long[] all = new long[TABLES * 512];
            for (int t = 0; t < TABLES; t++) {
                System.arraycopy(mem.descOrNull(tables[t]).words(), 0, all, t * 512, 512);
            }
            return all;
        }
    }

    private static final int[] HOT = {0, 1, 5, 100, 256, 511};

    @ParameterizedTest
    @ValueSource(strings = {"x86_64-4l", "x86_64-5l"})
    void sameOutcomeAndMemoryAsTheGenericWalk(String name) {
        Architecture arch = Architectures.byName(name);
        long total = 0;
        long mapped = 0;
        long faults = 0;
        long thrown = 0;
        long updates = 0;
        long answeredFast = 0;
        for (long seed = 1; seed <= SEEDS; seed++) {
            long s = seed * 0x9E3779B97F4A7C15L ^ name.hashCode();
            Machine a = new Machine(s);
            Machine b = new Machine(s);
            assertEquals(Arrays.toString(a.tables), Arrays.toString(b.tables), "seed " + s + ": same frames");
            assertTrue(Arrays.equals(a.snapshot(), b.snapshot()), "seed " + s + ": same memory");
            HardwareWalker generic = new HardwareWalker(arch.geometry(), arch.format(), HardwareRules.of(arch.format()), a.mem);
            HardwareWalker genericB = new HardwareWalker(arch.geometry(), arch.format(), HardwareRules.of(arch.format()), b.mem);
            X86Walker fast = new X86Walker(genericB, arch.geometry(), (X86Format) arch.format(), b.mem);
            long rootPa = a.tables[0] << 12;
            WalkResult ra = new WalkResult();
            WalkResult rb = new WalkResult();
            SplittableRandom r = new SplittableRandom(s + 1);
            int levels = arch.geometry().levels().size();
            for (int c = 0; c < CASES; c++) {
                long va = r.nextLong() & 0xfff;
                for (int l = 0; l < levels; l++) {
                    int idx = r.nextInt(40) != 0 ? HOT[r.nextInt(HOT.length)] : r.nextInt(512);
                    va |= (long) idx << (12 + 9 * (levels - 1 - l));
                }
                va |= r.nextLong() & (-1L << (12 + 9 * levels)); // bits above the walk: ignored by both
                Privilege priv = PRIVS[r.nextInt(PRIVS.length)];
                boolean audit = r.nextInt(10) == 0; // need 0 and READ, as CpuMmu.auditWalk walks
                AccessKind kind = audit ? AccessKind.READ : KINDS[r.nextInt(KINDS.length)];
                int need = audit ? 0 : Rights.need(kind, priv);
                Controls ctl = r.nextBoolean() ? Controls.LINUX : new Controls(r.nextBoolean(), r.nextBoolean(), r.nextBoolean());
                if (r.nextInt(50) == 0) {
                    ra = new WalkResult();
                    rb = new WalkResult();
                }
                if (c % 20 == 0) { // the same kernel-side test_and_clear_young on both copies, so A/D updates keep coming
                    for (int n = 0; n < 200; n++) {
                        int t = r.nextInt(TABLES - FREED);
                        int i = HOT[r.nextInt(HOT.length)];
                        a.mem.descOrNull(a.tables[t]).words()[i] &= ~(X86Format.A | X86Format.D);
                        b.mem.descOrNull(b.tables[t]).words()[i] &= ~(X86Format.A | X86Format.D);
                    }
                }
                String what = "seed " + s + " case " + c + ": " + name + " va 0x" + Long.toHexString(va) + " " + kind + " " + priv
                        + " need " + need + " " + ctl;
                // Half the cases walk the same access twice: the first walk sets the accessed and
                // dirty bits, so the second is the common miss the fast path exists for.
                int walks = r.nextBoolean() ? 2 : 1;
                for (int w = 0; w < walks; w++) {
                    WalkResult wa = ra;
                    WalkResult wb = rb;
                    long v = va;
                    long[] before = a.snapshot();
                    // The fast path alone, on a scratch result (it only reads): which cases it answers.
                    boolean fastAnswer = fast.common(rootPa, v, need, kind, ctl, new WalkResult());
                    assertTrue(Arrays.equals(before, b.snapshot()), what + ": the fast path wrote memory");
                    String oa = outcome(() -> generic.walk(rootPa, v, need, kind, ctl, wa), wa);
                    String ob = outcome(() -> fast.walk(rootPa, v, need, kind, ctl, wb), wb);
                    assertEquals(oa, ob, what);
                    assertEquals(a.mem.log().snapshot(), b.mem.log().snapshot(), what + ": log");
                    long[] after = b.snapshot();
                    assertTrue(Arrays.equals(a.snapshot(), after), what + ": table words differ after the walk");
                    if (!Arrays.equals(before, after)) {
                        updates++;
                    }
                    total++;
                    if (fastAnswer) {
                        answeredFast++;
                        assertTrue(oa.startsWith("mapped") && Arrays.equals(before, after), what + ": the fast path answered a case "
                                + "the generic walk faults or updates");
                    }
                    if (oa.startsWith("mapped")) {
                        mapped++;
                    } else if (oa.startsWith("fault")) {
                        faults++;
                    } else {
                        thrown++;
                    }
                }
            }
        }
        // The cases must reach every kind of outcome, else the comparison proves little.
        assertTrue(mapped > total / 10 && faults > total / 10 && thrown > 0 && updates > total / 20 && answeredFast > total / 50,
                name + ": mapped " + mapped + ", faults " + faults + ", thrown " + thrown + ", A/D updates " + updates
                        + ", answered by the fast path " + answeredFast + " of " + total);
        System.out.println("X86WalkerDifferentialTest " + name + ": " + total + " walks, " + mapped + " mapped, " + faults
                + " faults, " + thrown + " exceptions, " + updates + " with A/D updates, " + answeredFast
                + " answered by the fast path, identical");
    }

    private interface Walk {
        boolean run();
    }

    /** The walk's outcome as text: every result field, the fault as level and reason, or the exception. */
    private static String outcome(Walk w, WalkResult r) {
        try {
            if (w.run()) {
                return "mapped pagePa 0x" + Long.toHexString(r.pagePa) + " leafPa 0x" + Long.toHexString(r.leafPa) + " size 0x"
                        + Long.toHexString(r.leafSize) + " level " + r.levelIndex + " rights " + Rights.toString(r.rights)
                        + " global " + r.global + " fault " + r.fault;
            }
            return "fault " + Translation.faultOf(r.fault) + " (0x" + Long.toHexString(r.fault) + ")";
        } catch (RuntimeException e) {
            return "threw " + e.getClass().getName() + ": " + e.getMessage();
        }
    }
}
