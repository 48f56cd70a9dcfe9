package ptlab.phys;

import static org.assertj.core.api.Assertions.assertThat;
import static org.quicktheories.QuickTheory.qt;
import static org.quicktheories.generators.SourceDSL.integers;
import static org.quicktheories.generators.SourceDSL.lists;
import static org.quicktheories.generators.SourceDSL.longs;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;
import ptlab.cpu.ViolationLog;

/**
 * Property tests of the buddy allocator against {@link BuddyModel}, for 4K, 16K and 64K pages.
 *
 * <p>The random-ops test runs a seeded sequence of allocate/free/drain operations and checks
 * the model and {@link BuddyInvariants} after every step, so the first failing step already
 * gives the shortest failing prefix; that prefix is then shrunk further by deleting
 * operations while it still fails, and reported with its seed. Re-run one case with
 * {@code -Dptlab.seed=<seed>}.
 */
class BuddyAllocatorPropertyTest {
    private static final int OPS = 3_000;
    /** Small RAM, so exhaustion is part of the interleavings. */
    private static final long RAM_BLOCKS = 8;

    /** One model step. {@code pick} selects the live block a free releases (mod the live count). */
    record Op(Kind kind, int order, int pick) {
        enum Kind { ALLOC, FREE, DRAIN }

        @Override
        public String toString() {
            return kind == Kind.ALLOC ? "alloc(" + order + ")" : kind == Kind.FREE ? "free(#" + pick + ")" : "drain";
        }
    }

    static Stream<Arguments> cases() {
        String fixed = System.getProperty("ptlab.seed");
        List<Long> seeds = new ArrayList<>();
        if (fixed != null) {
            seeds.add(Long.decode(fixed));
        } else {
            for (long s = 1; s <= 6; s++) {
                seeds.add(0x5eed_0000L + s * 7919);
            }
        }
        List<Arguments> out = new ArrayList<>();
        for (int shift : new int[] {12, 14, 16}) {
            for (long seed : seeds) {
                out.add(Arguments.of(shift, seed));
            }
        }
        return out.stream();
    }

    static List<Op> generate(long seed, int n) {
        SplittableRandom r = new SplittableRandom(seed);
        List<Op> ops = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            int roll = r.nextInt(1000);
            if (roll < 3) {
                ops.add(new Op(Op.Kind.DRAIN, 0, 0));
            } else if (roll < 450) {
                ops.add(new Op(Op.Kind.FREE, 0, r.nextInt(1 << 16)));
            } else {
                int band = r.nextInt(10);
                int order = band < 6 ? r.nextInt(3) : band < 9 ? 3 + r.nextInt(4) : 7 + r.nextInt(4);
                ops.add(new Op(Op.Kind.ALLOC, order, 0));
            }
        }
        return ops;
    }

    @ParameterizedTest(name = "shift {0}, seed {1}")
    @MethodSource("cases")
    void randomInterleavingsMatchTheModel(int pageShift, long seed) {
        System.out.printf("BuddyAllocatorPropertyTest: shift %d seed 0x%x%n", pageShift, seed);
        List<Op> ops = generate(seed, OPS);
        Failure f = run(ops, pageShift);
        if (f != null) {
            List<Op> shortest = shrink(ops.subList(0, f.step + 1), pageShift);
            Failure sf = run(shortest, pageShift);
            throw new AssertionError(String.format("shift %d seed 0x%x: fails at step %d of %d; shrunk to %d ops %s: %s",
                    pageShift, seed, f.step, ops.size(), shortest.size(), shortest, sf == null ? f.message : sf.message),
                    sf == null ? f.cause : sf.cause);
        }
    }

    record Failure(int step, String message, Throwable cause) {}

    /** Runs {@code ops} on a fresh allocator; returns the first failing step or {@code null}. */
    static Failure run(List<Op> ops, int pageShift) {
        PhysicalMemory mem = new PhysicalMemory(pageShift, RAM_BLOCKS << (pageShift + BuddyAllocator.MAX_ORDER), new ViolationLog(true));
        BuddyAllocator a = new BuddyAllocator(mem);
        BuddyModel model = new BuddyModel(mem.frames());
        SplittableRandom probe = new SplittableRandom(ops.size());
        for (int i = 0; i < ops.size(); i++) {
            try {
                String err = step(a, model, ops.get(i));
                if (err == null) {
                    err = compare(a, model, probe);
                }
                if (err != null) {
                    return new Failure(i, err, null);
                }
            } catch (RuntimeException | AssertionError e) {
                return new Failure(i, e.toString(), e);
            }
        }
        return null;
    }

    private static String step(BuddyAllocator a, BuddyModel model, Op op) {
        switch (op.kind()) {
            case ALLOC: {
                AllocResult r = a.allocate(op.order(), Gfp.KERNEL, "model");
                if (r instanceof AllocResult.Frames) {
                    AllocResult.Frames fr = (AllocResult.Frames) r;
                    if (fr.order() != op.order()) {
                        return "asked for order " + op.order() + ", got " + fr.order();
                    }
                    return model.add(fr.pfn(), fr.order());
                }
                AllocResult.Failed failed = (AllocResult.Failed) r;
                if (failed.injected()) {
                    return "injected failure with no injector armed";
                }
                // A real failure only when no free block of that order or larger exists.
                for (int k = op.order(); k <= BuddyAllocator.MAX_ORDER; k++) {
                    if (!a.freeList(k).isEmpty()) {
                        return "order " + op.order() + " failed though order " + k + " has free blocks";
                    }
                }
                List<Long> st = a.freeState();
                if (st.get(BuddyAllocator.MAX_ORDER + 1) + (1L << BuddyAllocator.MAX_ORDER) <= a.memory().frames()) {
                    return "order " + op.order() + " failed though untouched memory remains";
                }
                return null;
            }
            case FREE: {
                if (model.liveCount() == 0) {
                    return null;
                }
                long[] b = model.removeAt(op.pick());
                a.free(b[0], (int) b[1]);
                return null;
            }
            default: {
                while (model.liveCount() > 0) {
                    long[] b = model.removeAt(0);
                    a.free(b[0], (int) b[1]);
                }
                List<Long> st = a.freeState();
                return st.equals(BuddyInvariants.initialFreeState()) ? null
                        : "freeing everything left free state " + st + " instead of the initial one";
            }
        }
    }

    private static String compare(BuddyAllocator a, BuddyModel model, SplittableRandom probe) {
        List<String> problems = BuddyInvariants.problems(a);
        if (!problems.isEmpty()) {
            return String.join("; ", problems);
        }
        if (a.allocatedFrames() != model.liveFrames()) {
            return "allocatedFrames " + a.allocatedFrames() + " but the model holds " + model.liveFrames();
        }
        List<List<Long>> expected = model.expectedFreeLists();
        for (int k = 0; k <= BuddyAllocator.MAX_ORDER; k++) {
            List<Long> actual = new ArrayList<>(a.freeList(k));
            Collections.sort(actual);
            if (!actual.equals(expected.get(k))) {
                return "order-" + k + " free list " + hex(actual) + ", the model expects " + hex(expected.get(k));
            }
        }
        long untouched = a.freeState().get(BuddyAllocator.MAX_ORDER + 1);
        if (untouched != model.expectedUntouched()) {
            return "mark 0x" + Long.toHexString(untouched) + ", the model expects 0x" + Long.toHexString(model.expectedUntouched());
        }
        for (long[] b : model.liveBlocks()) {
            if (!a.memory().isAllocated(b[0]) || a.isFree(b[0]) || a.isFree(b[0] + (1L << b[1]) - 1)) {
                return "live block 0x" + Long.toHexString(b[0]) + "/" + b[1] + " is not allocated or reads as free";
            }
        }
        for (int i = 0; i < 8; i++) {
            long pfn = probe.nextLong(a.memory().frames());
            if (a.isFree(pfn) == model.covers(pfn)) {
                return "isFree(0x" + Long.toHexString(pfn) + ") = " + a.isFree(pfn) + " but the model says "
                        + (model.covers(pfn) ? "live" : "free");
            }
        }
        return null;
    }

    private static List<String> hex(List<Long> l) {
        List<String> out = new ArrayList<>();
        for (long v : l) {
            out.add("0x" + Long.toHexString(v));
        }
        return out;
    }

    /** Deletes chunks, then single ops, while the sequence still fails (ddmin, greedy). */
    static List<Op> shrink(List<Op> failing, int pageShift) {
        List<Op> cur = new ArrayList<>(failing);
        for (int chunk = Math.max(1, cur.size() / 2); chunk >= 1; chunk /= 2) {
            boolean progress = true;
            while (progress) {
                progress = false;
                for (int i = 0; i + chunk <= cur.size(); i += chunk) {
                    List<Op> cand = new ArrayList<>(cur.subList(0, i));
                    cand.addAll(cur.subList(i + chunk, cur.size()));
                    Failure f = run(cand, pageShift);
                    if (f != null) {
                        cur = new ArrayList<>(cand.subList(0, f.step + 1));
                        progress = true;
                        break;
                    }
                }
            }
        }
        return cur;
    }

    /* ---- QuickTheories: whole-state identities ---- */

    @ParameterizedTest(name = "shift {0}")
    @ValueSource(ints = {12, 14, 16})
    void allocatingAnyBatchThenFreeingItInAnyOrderRestoresTheInitialState(int pageShift) {
        long seed = Long.getLong("ptlab.seed", 0x9e3779b97f4a7c15L);
        System.out.printf("BuddyAllocatorPropertyTest(qt): shift %d seed 0x%x%n", pageShift, seed);
        long ram = RAM_BLOCKS << (pageShift + BuddyAllocator.MAX_ORDER);
        qt().withFixedSeed(seed).withExamples(150).forAll(
                lists().of(integers().between(0, BuddyAllocator.MAX_ORDER)).ofSizeBetween(1, 40),
                longs().all())
            .checkAssert((orders, shuffle) -> {
                BuddyAllocator a = new BuddyAllocator(new PhysicalMemory(pageShift, ram, new ViolationLog(true)));
                BuddyModel model = new BuddyModel(a.memory().frames());
                List<long[]> blocks = new ArrayList<>();
                for (int k : orders) {
                    AllocResult r = a.allocate(k, Gfp.KERNEL, "qt");
                    if (r.ok()) {
                        AllocResult.Frames fr = (AllocResult.Frames) r;
                        assertThat(model.add(fr.pfn(), k)).isNull();
                        blocks.add(new long[] {fr.pfn(), k});
                    }
                }
                BuddyInvariants.check(a);
                Collections.shuffle(blocks, new Random(shuffle));
                for (long[] b : blocks) {
                    a.free(b[0], (int) b[1]);
                }
                BuddyInvariants.check(a);
                assertThat(a.freeState()).isEqualTo(BuddyInvariants.initialFreeState());
                assertThat(a.allocatedFrames()).isZero();
                assertThat(a.memory().sectionsInUse()).isLessThanOrEqualTo(1);
            });
    }

    @ParameterizedTest(name = "shift {0}")
    @ValueSource(ints = {12, 14, 16})
    void splittingAMaxOrderBlockIntoFramesAndFreeingThemMergesItBack(int pageShift) {
        long seed = Long.getLong("ptlab.seed", 0x5B1175L);
        System.out.printf("BuddyAllocatorPropertyTest(split/merge): shift %d seed 0x%x%n", pageShift, seed);
        long ram = RAM_BLOCKS << (pageShift + BuddyAllocator.MAX_ORDER);
        qt().withFixedSeed(seed).withExamples(60).forAll(
                lists().of(integers().between(0, BuddyAllocator.MAX_ORDER)).ofSizeBetween(0, 12),
                longs().all())
            .checkAssert((background, shuffle) -> {
                BuddyAllocator a = new BuddyAllocator(new PhysicalMemory(pageShift, ram, new ViolationLog(true)));
                // Some unrelated state first: the identity must hold from any state, not only empty.
                for (int k : background) {
                    a.allocate(k, Gfp.KERNEL, "background");
                }
                List<Long> before = a.freeState();
                List<List<Long>> listsBefore = sortedLists(a);
                List<Long> frames = new ArrayList<>();
                for (int i = 0; i < (1 << BuddyAllocator.MAX_ORDER); i++) {
                    AllocResult r = a.allocate(0, Gfp.KERNEL, "split");
                    if (!r.ok()) {
                        break;
                    }
                    frames.add(r.pfnOrThrow());
                }
                Collections.shuffle(frames, new Random(shuffle));
                for (long pfn : frames) {
                    a.free(pfn, 0);
                }
                BuddyInvariants.check(a);
                assertThat(a.freeState()).isEqualTo(before);
                assertThat(sortedLists(a)).isEqualTo(listsBefore);
            });
    }

    private static List<List<Long>> sortedLists(BuddyAllocator a) {
        List<List<Long>> out = new ArrayList<>();
        for (int k = 0; k <= BuddyAllocator.MAX_ORDER; k++) {
            List<Long> l = new ArrayList<>(a.freeList(k));
            Collections.sort(l);
            out.add(l);
        }
        return out;
    }
}
