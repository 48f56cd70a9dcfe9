package ptlab.diff;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import ptlab.diff.MappingModel.Mapping;

/**
 * Seeded random traces for the differential test: 20–60 steps of mmap, touch, munmap, mprotect,
 * madvise (dontneed, hugepage, nohugepage, collapse) and fork inside a window of a few GiB at
 * 16 TiB, ending with a munmap of the whole window.
 *
 * <p>The same seed always gives the same trace ({@link SplittableRandom}, no other input). Biased
 * towards what the kernel treats specially: THP ranges partially unmapped, protected or zapped;
 * MADV_COLLAPSE after touches and after fork; fork after THP faults; MADV_DONTNEED of whole 2 MiB
 * blocks (PT reclaim); the huge zero page; neighbours sharing tables; and calls that fail (EEXIST,
 * EINVAL, ENOMEM over holes, EFAULT touches).
 */
final class TraceGenerator {
    /*
     * Implementation notes.
     *
     * Longer than most classes on purpose: every choice (operation, scenario, address, length,
     * attribute) draws from one SplittableRandom in one fixed order, and that order is what makes a
     * seed reproducible; splitting the choices over classes would only spread that order around.
     * The VMA bookkeeping lives in MappingModel.
     *
     * The generator keeps a rough model of the VMAs it created (MappingModel: range, prot, shared,
     * thp) only to aim operations at interesting places: inside, across the edge of, or around a mapping;
     * at whole or partial 2 MiB blocks; at neighbours that share a PTE/PMD table. The model does not
     * need to be exact (mprotect over a hole, for instance, is applied to the whole range): the
     * kernel is the judge, the model only biases the dice.
     *
     * Placement: mappings cluster around "hot spots" at every GiB of the window (the start and the
     * end of a PMD table's reach), so VMAs are neighbours and share PMD and PUD tables, and some
     * straddle a GiB boundary. One trace in eight uses a window that straddles a 512 GiB boundary,
     * so two PUD tables (and the free_pgtables ceiling/floor at PGD level) are in play.
     *
     * Cost: every touch is charged its full length against TOUCH_BUDGET, so the kernel side never
     * touches more than 256 MiB per trace.
     */
    static final long K = 1L << 10;
    static final long M = 1L << 20;
    static final long G = 1L << 30;
    static final long PAGE = 4 * K;
    static final long HPAGE = 2 * M;
    /** Start of the default window: 16 TiB, far from the driver's own mappings. */
    static final long WINDOW = 0x1000_0000_0000L;
    /** Alternative window straddling the 512 GiB boundary at 16.5 TiB (two PUD tables). */
    static final long STRADDLE_WINDOW = WINDOW + 512 * G - 2 * G;
    static final long SPAN = 4 * G;
    static final int MIN_STEPS = 20;
    static final int MAX_STEPS = 60;
    static final long TOUCH_BUDGET = 256 * M;

    private static final String[] PROTS = {"rw", "rw", "rw", "rw", "rw", "rw", "r", "r", "rx", "rwx", "rwx", "none", "x"};

    private final SplittableRandom rnd;
    private final long base;
    private final int target;
    private final List<String> steps = new ArrayList<>();
    private final MappingModel model = new MappingModel();
    private long touched;

    private TraceGenerator(long seed) {
        rnd = new SplittableRandom(seed);
        base = rnd.nextInt(8) == 0 ? STRADDLE_WINDOW : WINDOW;
        target = MIN_STEPS + rnd.nextInt(MAX_STEPS - MIN_STEPS + 1);
    }

    /** The trace for {@code seed}, named {@code name}. */
    static Trace generate(String name, long seed) {
        TraceGenerator g = new TraceGenerator(seed);
        while (g.room() > 0) {
            g.step();
        }
        g.emit("munmap " + hex(g.base) + " " + len(SPAN));
        return new Trace(name, g.steps);
    }

    /** Seed of trace {@code index} of a run with base seed {@code baseSeed}. */
    static long traceSeed(long baseSeed, int index) {
        // Not base + index * gamma: with SplittableRandom's own gamma, trace i + 1 would replay
        // trace i's random stream shifted by one draw.
        return mix64(mix64(baseSeed) + index);
    }

    /** Stafford's variant 13 of the MurmurHash3 finaliser: a bijection that scatters nearby inputs. */
    private static long mix64(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58_476D_1CE4_E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D0_49BB_1331_11EBL;
        return z ^ (z >>> 31);
    }

    /** Steps left before the final munmap. */
    private int room() {
        return target - 1 - steps.size();
    }

    private void emit(String op) {
        steps.add(op);
    }

    /* ---- Step selection ---- */

    private void step() {
        if (model.isEmpty()) {
            if (rnd.nextInt(3) == 0) {
                scenario();
            } else {
                mmap();
            }
            return;
        }
        int r = rnd.nextInt(100);
        if (r < 18) {
            mmap();
        } else if (r < 28) {
            scenario();
        } else if (r < 52) {
            touch();
        } else if (r < 59) {
            munmap();
        } else if (r < 66) {
            mprotect();
        } else if (r < 87) {
            madvise();
        } else if (r < 93) {
            emit("fork");
        } else {
            odd();
        }
    }

    /** Short scripted sequences around the cases the kernel treats specially. */
    private void scenario() {
        switch (rnd.nextInt(7)) {
            case 0: // THP range, populated, then split by a partial munmap/mprotect/dontneed
            {
                Mapping s = mapAt(thpStart(), HPAGE * (1 + rnd.nextInt(4)) + (rnd.nextInt(3) == 0 ? PAGE * rnd.nextInt(1, 512) : 0),
                        "rw", false, "thp");
                if (s == null) {
                    return;
                }
                touchRange(s.start(), s.len(), rnd.nextInt(4) == 0 ? "read" : "write");
                long a = s.start() + PAGE * rnd.nextInt((int) (s.len() / PAGE));
                long l = Math.min(s.end() - a, PAGE * rnd.nextInt(1, 1024));
                switch (rnd.nextInt(4)) {
                    case 0:
                        munmapRange(a, l);
                        break;
                    case 1:
                        mprotectRange(a, l, rnd.nextBoolean() ? "r" : "none");
                        break;
                    default:
                        madviseRange(a, l, "dontneed");
                        break;
                }
                break;
            }
            case 1: // small pages populated, then MADV_COLLAPSE
            {
                String thp = pick("", "", "nothp", "thp");
                Mapping s = mapAt(thpStart(), HPAGE * (1 + rnd.nextInt(3)), "rw", rnd.nextInt(8) == 0, thp);
                if (s == null) {
                    return;
                }
                long a = s.start() + PAGE * rnd.nextInt(512);
                touchRange(a, Math.min(s.end() - a, PAGE * rnd.nextInt(1, 1024)), rnd.nextInt(3) == 0 ? "read" : "write");
                if (rnd.nextBoolean()) {
                    madviseRange(s.start(), s.len(), "hugepage");
                }
                if (rnd.nextInt(3) == 0) {
                    emit("fork");
                }
                madviseRange(rnd.nextBoolean() ? s.start() : a, rnd.nextBoolean() ? s.len() : HPAGE, "collapse");
                break;
            }
            case 2: // fork after THP faults
            {
                Mapping s = mapAt(thpStart(), HPAGE * (1 + rnd.nextInt(4)), "rw", false, "thp");
                if (s == null) {
                    return;
                }
                touchRange(s.start(), s.len(), rnd.nextInt(3) == 0 ? "read" : "write");
                emit("fork");
                if (rnd.nextBoolean()) {
                    madviseRange(s.start() + HPAGE * rnd.nextInt((int) (s.len() / HPAGE)), HPAGE, "dontneed");
                    emit("fork");
                }
                break;
            }
            case 3: // PT reclaim: MADV_DONTNEED of whole 2 MiB-aligned blocks of small pages
            {
                Mapping s = mapAt(thpStart(), HPAGE * (1 + rnd.nextInt(4)), "rw", false, pick("", "nothp"));
                if (s == null) {
                    return;
                }
                touchRange(s.start(), s.len(), rnd.nextInt(4) == 0 ? "read" : "write");
                long blocks = s.len() / HPAGE;
                long first = rnd.nextLong(blocks);
                madviseRange(s.start() + first * HPAGE, HPAGE * (1 + rnd.nextLong(blocks - first)), "dontneed");
                if (rnd.nextBoolean()) {
                    touchRange(s.start(), PAGE * rnd.nextInt(1, 64), "write");
                }
                break;
            }
            case 4: // neighbours sharing a PTE table, one unmapped: free_pgtables floor/ceiling
            {
                long a = hotSpot() + PAGE * rnd.nextInt(512);
                Mapping s1 = mapAt(a, PAGE * rnd.nextInt(1, 600), pick(PROTS), false, pick("", "thp", "nothp"));
                if (s1 == null) {
                    return;
                }
                long gap = rnd.nextBoolean() ? 0 : PAGE * rnd.nextInt(1, 600);
                Mapping s2 = mapAt(s1.end() + gap, PAGE * rnd.nextInt(1, 600), pick(PROTS), false, pick("", "thp", "nothp"));
                touchRange(s1.start(), s1.len(), s1.writable() ? "write" : "read");
                if (s2 != null) {
                    touchRange(s2.start(), s2.len(), s2.writable() ? "write" : "read");
                }
                Mapping victim = s2 != null && rnd.nextBoolean() ? s2 : s1;
                munmapRange(victim.start(), victim.len());
                break;
            }
            case 5: // shared (shmem): faults, collapse, protection round trips, THP off, partial zaps, refaults
            {
                Mapping s = mapAt(thpStart(), HPAGE * (1 + rnd.nextInt(3)) + (rnd.nextInt(3) == 0 ? PAGE * rnd.nextInt(1, 512) : 0),
                        pick("rw", "rw", "r"), true, pick("", "thp", "nothp"));
                if (s == null) {
                    return;
                }
                long a = s.start() + PAGE * rnd.nextInt((int) (s.len() / PAGE));
                touchRange(a, Math.min(s.end() - a, PAGE * rnd.nextInt(1, 1024)), s.writable() && rnd.nextBoolean() ? "write" : "read");
                madviseRange(rnd.nextBoolean() ? s.start() : a, rnd.nextBoolean() ? s.len() : HPAGE, "collapse");
                for (int i = rnd.nextInt(1, 4); i > 0; i--) {
                    long b = s.start() + PAGE * rnd.nextInt((int) (s.len() / PAGE));
                    long l = Math.min(s.end() - b, PAGE * rnd.nextInt(1, 1024));
                    switch (rnd.nextInt(5)) {
                        case 0:
                            mprotectRange(s.start(), s.len(), "r");
                            mprotectRange(s.start(), s.len(), "rw");
                            break;
                        case 1:
                            madviseRange(b, l, "nohugepage");
                            break;
                        case 2:
                            madviseRange(b, l, "dontneed");
                            break;
                        case 3:
                            emit("fork");
                            break;
                        default:
                            touchRange(b, l, rnd.nextBoolean() ? "write" : "read");
                            break;
                    }
                }
                touchRange(s.start(), s.len(), rnd.nextBoolean() ? "write" : "read");
                break;
            }
            default: // huge zero page, then a write into it
            {
                Mapping s = mapAt(thpStart(), HPAGE * (1 + rnd.nextInt(3)), "rw", false, "thp");
                if (s == null) {
                    return;
                }
                touchRange(s.start(), s.len(), "read");
                touchRange(s.start() + PAGE * rnd.nextInt((int) (s.len() / PAGE)), PAGE * rnd.nextInt(1, 8), "write");
                break;
            }
        }
    }

    /* ---- Single operations ---- */

    private void mmap() {
        long len = mmapLen();
        long a;
        int r = rnd.nextInt(100);
        if (r < 35 && !model.isEmpty()) { // neighbour after
            Mapping s = anyMapping();
            a = s.end() + gap();
        } else if (r < 50 && !model.isEmpty()) { // neighbour before
            Mapping s = anyMapping();
            a = s.start() - len - gap();
        } else if (r < 70) {
            a = thpStart();
        } else if (r < 85) {
            a = hotSpot() + PAGE * rnd.nextInt(16 * 1024);
        } else { // straddle a GiB boundary: two PMD tables
            a = base + G * (1 + rnd.nextInt(3)) - PAGE * rnd.nextLong(1, len / PAGE + 1);
        }
        // Mostly a free place (a few more draws if the first collides); the rest are EEXIST on purpose.
        for (int tries = 0; tries < 3 && !model.isEmpty() && !model.isFree(clampStart(a, len), clampStart(a, len) + len) && rnd.nextInt(10) != 0; tries++) {
            Mapping s = anyMapping();
            a = rnd.nextBoolean() ? s.end() + gap() : thpStart();
        }
        String prot = pick(PROTS);
        boolean shared = rnd.nextInt(14) == 0;
        String thp = pick("", "", "", "", "thp", "thp", "thp", "nothp", "nothp");
        mapAt(a, len, prot, shared, thp);
    }

    private void touch() {
        if (touched >= TOUCH_BUDGET - PAGE) {
            madvise();
            return;
        }
        Mapping s = anyMapping();
        long[] r = rangeAround(s);
        String mode;
        if (s.writable()) {
            mode = rnd.nextInt(10) < 7 ? "write" : "read";
        } else if (s.readable()) {
            mode = rnd.nextInt(8) == 0 ? "write" : "read";
        } else {
            mode = rnd.nextBoolean() ? "write" : "read";
        }
        touchRange(r[0], r[1], mode);
    }

    private void munmap() {
        long[] r = rangeAround(anyMapping());
        munmapRange(r[0], r[1]);
    }

    private void mprotect() {
        long[] r = rangeAround(anyMapping());
        mprotectRange(r[0], r[1], pick(PROTS));
    }

    private void madvise() {
        long[] r = rangeAround(anyMapping());
        String advice = pick("dontneed", "dontneed", "dontneed", "dontneed", "collapse", "collapse", "collapse",
                "hugepage", "hugepage", "nohugepage");
        madviseRange(r[0], r[1], advice);
    }

    /** Calls that fail (or do nothing) for a reason other than the page tables. */
    private void odd() {
        Mapping s = anyMapping();
        switch (rnd.nextInt(7)) {
            case 0: // overlapping MAP_FIXED_NOREPLACE: EEXIST
                emit("mmap " + hex(s.start() + PAGE * rnd.nextLong(s.len() / PAGE)) + " " + len(PAGE * rnd.nextInt(1, 1024)));
                break;
            case 1: // munmap of a hole next to a mapping: success, nothing changes
                // (misaligned addresses are trace errors in ptlab, FILE:LINE exit 2, so none are generated)
                munmapRange(s.end() + HPAGE * 8 + PAGE * rnd.nextInt(0, 512), PAGE * rnd.nextInt(1, 1024));
                break;
            case 2: // length 0: EINVAL for munmap and mmap, success for mprotect and madvise
                emit(pick("munmap " + hex(s.start()) + " 0", "mprotect " + hex(s.start()) + " 0 none",
                        "madvise " + hex(s.start()) + " 0 dontneed", "mmap " + hex(s.end() + HPAGE) + " 0"));
                break;
            case 3: { // a length that is not a page multiple is rounded up
                long l = rnd.nextLong(1, s.len() + 1);
                if (rnd.nextBoolean()) {
                    emit("madvise " + hex(s.start()) + " " + len(l) + " dontneed");
                } else {
                    munmapRange(s.start(), l);
                }
                break;
            }
            case 4: // touch of a hole: EFAULT at once
                touchRange(s.end() + PAGE * rnd.nextInt(1, 64) + HPAGE * 8, PAGE * rnd.nextInt(1, 16), pick("read", "write"));
                break;
            case 5: // madvise over a hole: ENOMEM
                madviseRange(s.start(), s.len() + HPAGE * 4 + PAGE * rnd.nextInt(512), pick("dontneed", "collapse", "hugepage"));
                break;
            default: // MADV_COLLAPSE of the block around the start: unpopulated, partial or crossing VMAs
                madviseRange(s.start() & -HPAGE, HPAGE, "collapse");
                break;
        }
    }

    /* ---- Emitting, with the model kept up to date ---- */

    /** Emits an mmap (plus thp/nothp); returns the new mapping, or null if the kernel will refuse it. */
    private Mapping mapAt(long a, long len, String prot, boolean shared, String thp) {
        if (room() <= 0) {
            return null;
        }
        a = clampStart(a, len);
        StringBuilder op = new StringBuilder("mmap ").append(hex(a)).append(' ').append(len(len));
        if (!prot.equals("rw") || rnd.nextInt(4) == 0) {
            op.append(' ').append(prot);
        }
        if (shared) {
            op.append(" shared");
        }
        if (!thp.isEmpty()) {
            op.append(' ').append(thp);
        }
        emit(op.toString());
        if (!model.isFree(a, a + len)) {
            return null;
        }
        Mapping s = new Mapping(a, a + len, prot, shared, thp);
        model.map(s);
        return s;
    }

    private void touchRange(long a, long len, String mode) {
        if (room() <= 0) {
            return;
        }
        len = Math.max(PAGE, Math.min(len, (TOUCH_BUDGET - touched) & -PAGE));
        touched += len;
        emit("touch " + hex(a) + " " + len(len) + (mode.equals("write") && rnd.nextBoolean() ? "" : " " + mode));
    }

    private void munmapRange(long a, long len) {
        if (room() <= 0) {
            return;
        }
        emit("munmap " + hex(a) + " " + len(len));
        model.unmap(a, a + len);
    }

    private void mprotectRange(long a, long len, String prot) {
        if (room() <= 0) {
            return;
        }
        emit("mprotect " + hex(a) + " " + len(len) + " " + prot);
        model.update(a, a + len, s -> new Mapping(s.start(), s.end(), prot, s.shared(), s.thp()));
    }

    private void madviseRange(long a, long len, String advice) {
        if (room() <= 0) {
            return;
        }
        emit("madvise " + hex(a) + " " + len(len) + " " + advice);
        if (advice.equals("hugepage")) {
            model.update(a, a + len, s -> new Mapping(s.start(), s.end(), s.prot(), s.shared(), "thp"));
        } else if (advice.equals("nohugepage")) {
            model.update(a, a + len, s -> new Mapping(s.start(), s.end(), s.prot(), s.shared(), "nothp"));
        }
    }

    /* ---- Choosing addresses and lengths ---- */

    /** A range aimed at {@code s}: all of it, some 2 MiB blocks, a part, across an edge, or beyond. */
    private long[] rangeAround(Mapping s) {
        long a;
        long e;
        switch (rnd.nextInt(10)) {
            case 0:
            case 1:
                a = s.start();
                e = s.end();
                break;
            case 2:
            case 3: { // whole aligned 2 MiB blocks inside s
                long first = (s.start() + HPAGE - 1) & -HPAGE;
                long blocks = (s.end() - first) / HPAGE;
                if (blocks <= 0) {
                    a = s.start();
                    e = s.end();
                } else {
                    long b = rnd.nextLong(blocks);
                    a = first + b * HPAGE;
                    e = a + HPAGE * (1 + rnd.nextLong(blocks - b));
                }
                break;
            }
            case 4:
            case 5: // a random part
                a = s.start() + PAGE * rnd.nextLong(s.len() / PAGE);
                e = Math.min(s.end(), a + PAGE * rnd.nextLong(1, 2048));
                break;
            case 6: // across the end, into a neighbour or a hole
                a = s.end() - PAGE * rnd.nextLong(1, s.len() / PAGE + 1);
                e = s.end() + PAGE * rnd.nextLong(1, 1024);
                break;
            case 7: // across the start
                a = s.start() - PAGE * rnd.nextLong(1, 1024);
                e = s.start() + PAGE * rnd.nextLong(1, s.len() / PAGE + 1);
                break;
            case 8: // the 2 MiB blocks containing s
                a = s.start() & -HPAGE;
                e = (s.end() + HPAGE - 1) & -HPAGE;
                break;
            default: { // from s to the end of the next mapping, holes included
                Mapping next = model.next(s);
                a = s.start();
                e = next != null ? next.end() : s.end() + HPAGE;
                break;
            }
        }
        a = Math.max(a, base);
        e = Math.min(e, base + SPAN);
        if (e - a > 64 * M) {
            e = a + 64 * M;
        }
        return new long[] {a, Math.max(PAGE, e - a)};
    }

    private long mmapLen() {
        int r = rnd.nextInt(100);
        if (r < 28) {
            return PAGE * rnd.nextInt(1, 65);
        } else if (r < 58) {
            return HPAGE * rnd.nextInt(1, 9);
        } else if (r < 78) {
            return HPAGE * rnd.nextInt(1, 5) + PAGE * rnd.nextInt(1, 512);
        } else if (r < 96) {
            return PAGE * rnd.nextInt(1, 4097);
        }
        return HPAGE * rnd.nextInt(16, 33);
    }

    /** 0 (adjacent) half the time, else a small hole, sometimes up to the next 2 MiB boundary. */
    private long gap() {
        int r = rnd.nextInt(4);
        return r < 2 ? 0 : r == 2 ? PAGE * rnd.nextInt(1, 512) : HPAGE * rnd.nextInt(1, 4);
    }

    /** Near the start or the end of one of the window's GiBs. */
    private long hotSpot() {
        long gib = base + G * rnd.nextInt((int) (SPAN / G));
        return rnd.nextInt(3) == 0 ? gib + G - 128 * M : gib;
    }

    /** A THP-friendly start: 2 MiB-aligned near a hot spot, sometimes off by some pages. */
    private long thpStart() {
        long a = hotSpot() + HPAGE * rnd.nextInt(32);
        return rnd.nextInt(4) == 0 ? a + PAGE * rnd.nextInt(1, 512) : a;
    }

    private long clampStart(long a, long len) {
        return Math.max(base, Math.min(a, base + SPAN - len)) & -PAGE;
    }

    private Mapping anyMapping() {
        return model.any(rnd);
    }

    @SafeVarargs
    private <T> T pick(T... options) {
        return options[rnd.nextInt(options.length)];
    }

    /* ---- Formatting ---- */

    static String hex(long v) {
        return "0x" + Long.toHexString(v);
    }

    static String len(long v) {
        if (v != 0 && v % G == 0) {
            return v / G + "G";
        } else if (v != 0 && v % M == 0) {
            return v / M + "M";
        } else if (v != 0 && v % K == 0) {
            return v / K + "K";
        }
        return v < 4096 ? Long.toString(v) : hex(v);
    }
}
