package ptlab.range;

import ptlab.InvalidAddressException;
import ptlab.arch.Architecture;
import ptlab.arch.Geometry;
import ptlab.arch.Level;
import ptlab.arch.SizeNames;
import ptlab.pgtable.Mm;
import ptlab.pgtable.PageTables;

/**
 * Argument checks shared by the range operations; each throws before anything is changed.
 * A range is {@code [start, start + len)}; {@code start + len == 0} (the top of the address
 * space) is allowed, a wrap past it is not.
 */
final class RangeCheck {
    private RangeCheck() {}

    /** Checks alignment to {@code align}, non-emptiness, no wrap, canonical ends, and the half that {@code mm} owns. */
    static void range(PageTables pt, Mm mm, long start, long len, long align, String op) {
        Architecture arch = pt.arch();
        if (len == 0) {
            throw new InvalidAddressException(op + ": empty range at 0x" + Long.toHexString(start));
        }
        InvalidAddressException.requireAligned(op + ": start", start, align);
        InvalidAddressException.requireAligned(op + ": length", len, align);
        long end = start + len;
        if (end != 0 && Long.compareUnsigned(end, start) < 0) {
            throw new InvalidAddressException(op + ": range 0x" + Long.toHexString(start) + " + 0x" + Long.toHexString(len)
                    + " wraps past the top of the address space");
        }
        long last = end - 1;
        if (!arch.isCanonical(start) || !arch.isCanonical(last)) {
            throw new InvalidAddressException(op + ": range [0x" + Long.toHexString(start) + ", 0x" + Long.toHexString(end)
                    + ") is not canonical for " + arch.name());
        }
        boolean kernel = mm.isInitMm();
        boolean startUser = arch.isUser(start);
        boolean lastUser = arch.isUser(last);
        if (startUser != lastUser || Long.compareUnsigned(last, start) < 0) {
            throw new InvalidAddressException(op + ": range [0x" + Long.toHexString(start) + ", 0x" + Long.toHexString(end)
                    + ") crosses from the user half into the kernel half");
        }
        if (kernel == startUser) {
            throw new InvalidAddressException(op + ": range at 0x" + Long.toHexString(start) + " lies in the "
                    + (startUser ? "user" : "kernel") + " half, but " + mm + " maps the " + (kernel ? "kernel" : "user") + " half");
        }
    }

    /** The run-time level whose leaves are {@code size} bytes, if the architecture maps leaves there. */
    static Level leafLevel(PageTables pt, long size) {
        Geometry g = pt.geometry();
        Level l = Long.bitCount(size) == 1 ? g.levelOfSize(size) : null;
        if (l == null || !(l == Level.PTE || g.leafAllowed(l))) {
            StringBuilder sizes = new StringBuilder();
            for (Level x : g.levels()) {
                if (x == Level.PTE || g.leafAllowed(x)) {
                    sizes.append(sizes.length() == 0 ? "" : ", ").append(SizeNames.of(g.entrySize(x)));
                }
            }
            throw new UnsupportedLeafSizeException("leaf size 0x" + Long.toHexString(size) + " is not mapped by "
                    + pt.arch().name() + " (leaf sizes: " + sizes + ")");
        }
        return l;
    }

    /** Checks a physical range for a map: aligned to the leaf and inside the physical address width. */
    static void phys(PageTables pt, long pa, long len, long leaf) {
        InvalidAddressException.requireAligned("map: physical address", pa, leaf);
        int bits = pt.format().physAddrBits();
        long limit = bits >= 64 ? -1L : 1L << bits;
        if (Long.compareUnsigned(pa, limit) >= 0 || Long.compareUnsigned(len, limit - pa) > 0) {
            throw new InvalidAddressException("map: physical range 0x" + Long.toHexString(pa) + " + 0x" + Long.toHexString(len)
                    + " exceeds the " + bits + "-bit physical address space of " + pt.arch().name());
        }
    }
}
