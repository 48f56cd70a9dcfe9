package ptlab.range;

import ptlab.PtlabException;

/** A map over entries that are not none, or an operation that would cut a huge leaf in two. */
public final class RangeConflictException extends PtlabException {
    private static final long serialVersionUID = 1L;

    public RangeConflictException(String message) {
        super(message);
    }
}
