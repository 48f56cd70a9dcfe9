package ptlab.phys;

import ptlab.PtlabException;

/** A physical address or frame that is misaligned, out of range, or in the wrong state (double free). */
public final class InvalidFrameException extends PtlabException {
    private static final long serialVersionUID = 1L;

    public InvalidFrameException(String message) {
        super(message);
    }
}
