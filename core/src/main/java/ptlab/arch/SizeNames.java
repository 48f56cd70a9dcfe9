package ptlab.arch;

/** Sizes as the kernel prints them (ptdump, leaf sizes): the largest unit that divides exactly. */
public final class SizeNames {
    private SizeNames() {}

    /** {@code 4096} → "4K", {@code 2 << 20} → "2M", {@code 1L << 42} → "4T"; sizes below 1 KiB print as "0K". */
    public static String of(long bytes) {
        String units = "KMGTPE";
        long s = bytes >>> 10;
        int u = 0;
        while (s != 0 && (s & 1023) == 0 && u < units.length() - 1) {
            s >>>= 10;
            u++;
        }
        return Long.toUnsignedString(s) + units.charAt(u);
    }
}
