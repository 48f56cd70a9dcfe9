package ptlab.cpu;

/**
 * A broken lock protocol: wrong order, recursion, release of a lock not held, a required lock
 * not held at an entry point. Always a bug in the caller, never bad input, hence an
 * {@link AssertionError}.
 */
public final class LockProtocolError extends AssertionError {
    private static final long serialVersionUID = 1L;

    public LockProtocolError(String message) {
        super(message);
    }
}
