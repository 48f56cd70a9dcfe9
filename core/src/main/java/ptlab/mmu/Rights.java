package ptlab.mmu;

/**
 * The six access rights a translation grants, one bit each: user read/write/execute and
 * kernel read/write/execute. Table entries, leaves and CPU controls each narrow the set; an
 * access needs its one bit. The TLB caches the final set.
 */
public final class Rights {
    public static final int UR = 1;
    public static final int UW = 1 << 1;
    public static final int UX = 1 << 2;
    public static final int KR = 1 << 3;
    public static final int KW = 1 << 4;
    public static final int KX = 1 << 5;
    public static final int ALL = 0x3f;
    public static final int USER = UR | UW | UX;
    public static final int WRITE = UW | KW;
    public static final int EXEC = UX | KX;

    private Rights() {}

    /** The bit an access needs. */
    public static int need(AccessKind kind, Privilege priv) {
        return 1 << (priv.ordinal() * 3 + kind.ordinal());
    }

    /** Short form for messages, e.g. {@code ur-x/krw-}. */
    public static String toString(int r) {
        return "u" + ((r & UR) != 0 ? "r" : "-") + ((r & UW) != 0 ? "w" : "-") + ((r & UX) != 0 ? "x" : "-")
                + "/k" + ((r & KR) != 0 ? "r" : "-") + ((r & KW) != 0 ? "w" : "-") + ((r & KX) != 0 ? "x" : "-");
    }
}
