package ptlab.cli;

import java.util.List;
import ptlab.PtlabException;
import ptlab.arch.Architecture;
import ptlab.kmap.KernelLayout;
import ptlab.phys.BuddyAllocator;

/**
 * {@code --ram}: checked before anything runs, against ptlab's limits and against every chosen
 * architecture, so that a size the machine cannot have is one line and exit status 2 rather
 * than a heap exhausted after seconds of work or a boot the kernel refuses mid-run.
 */
final class RamOption {
    private RamOption() {}

    /** simulate and check: the scenarios need at least this much (the built-in one fails below). */
    static final long SIMULATE_MIN = 256L << 20;
    /** simulate and check: above this a run takes minutes. */
    static final long SIMULATE_MAX = 1L << 40;
    /** dump and replay: dump's frame metadata for more RAM does not fit a default JVM heap (32T needs ~5 GiB). */
    static final long LARGEST = 16L << 40;

    static long parse(String option, String s, long min, long max) {
        long v = Sizes.parse(option, s);
        if (v < min || v > max) {
            throw new PtlabException(option + " " + s.trim() + ": must be between " + Sizes.format(min) + " and " + Sizes.format(max));
        }
        return v;
    }

    /** {@link #parse} and {@link #checkFits} for a machine of one architecture, up to {@link #LARGEST}. */
    static long parseFor(String option, String s, Architecture a) {
        long v = parse(option, s, largestBlock(a), LARGEST);
        checkFits(option, s, v, List.of(a));
        return v;
    }

    /** The most RAM the linear map of {@code a} holds, in whole largest buddy blocks. */
    static long linearCapacity(Architecture a) {
        KernelLayout l = KernelLayout.of(a);
        long block = largestBlock(a);
        return (l.linearEnd() - l.pageOffset()) & -block;
    }

    static long largestBlock(Architecture a) {
        return 1L << (a.geometry().pageShift() + BuddyAllocator.MAX_ORDER);
    }

    /** Every architecture of the run can have {@code bytes} of RAM: whole buddy blocks, inside its linear map. */
    static void checkFits(String option, String s, long bytes, List<Architecture> archs) {
        for (Architecture a : archs) {
            long block = largestBlock(a);
            if (bytes % block != 0) {
                throw new PtlabException(option + " " + s.trim() + ": not a multiple of " + Sizes.format(block) + ", the largest buddy block of "
                        + a.name());
            }
            long cap = linearCapacity(a);
            if (Long.compareUnsigned(bytes, cap) > 0) {
                throw new PtlabException(option + " " + s.trim() + ": more than the linear map of " + a.name() + " holds (at most "
                        + Sizes.format(cap) + ")");
            }
        }
    }
}
