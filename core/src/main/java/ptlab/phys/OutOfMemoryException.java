package ptlab.phys;

import ptlab.PtlabException;

/** ENOMEM as an exception, for paths that unwind rather than return a failure. */
public final class OutOfMemoryException extends PtlabException {
    private static final long serialVersionUID = 1L;
    private final transient AllocResult.Failed failure;

    public OutOfMemoryException(AllocResult.Failed failure) {
        super("out of memory: " + failure);
        this.failure = failure;
    }

    public AllocResult.Failed failure() {
        return failure;
    }
}
