package ptlab.range;

import ptlab.PtlabException;

/** A leaf size the architecture (in this configuration) cannot map at any level. */
public final class UnsupportedLeafSizeException extends PtlabException {
    private static final long serialVersionUID = 1L;

    public UnsupportedLeafSizeException(String message) {
        super(message);
    }
}
