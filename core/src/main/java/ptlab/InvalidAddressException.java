package ptlab;

/** An address or range that is misaligned, out of range, non-canonical or crosses a boundary. */
public final class InvalidAddressException extends PtlabException {
    private static final long serialVersionUID = 1L;

    public InvalidAddressException(String message) {
        super(message);
    }

    /** Checks {@code value} is a multiple of {@code alignment} (a power of two). */
    public static long requireAligned(String what, long value, long alignment) {
        if ((value & (alignment - 1)) != 0) {
            throw new InvalidAddressException(
                    what + " 0x" + Long.toHexString(value) + " is not aligned to 0x" + Long.toHexString(alignment));
        }
        return value;
    }
}
