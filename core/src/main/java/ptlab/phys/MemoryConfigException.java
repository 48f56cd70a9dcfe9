package ptlab.phys;

import ptlab.PtlabException;

/**
 * A simulated-memory configuration that cannot exist: a page shift other than 12, 14 or 16, or
 * a RAM size that is not a positive multiple of the largest buddy block. It is bad user input
 * (the CLI's {@code --ram} and architecture flags end up here), so it is a
 * {@link PtlabException} with a one-line message, not an {@link IllegalArgumentException}.
 */
public final class MemoryConfigException extends PtlabException {
    private static final long serialVersionUID = 1L;

    public MemoryConfigException(String message) {
        super(message);
    }
}
