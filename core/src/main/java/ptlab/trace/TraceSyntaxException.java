package ptlab.trace;

import ptlab.PtlabException;

/** A malformed trace line: the message is {@code FILE:LINE: reason}. */
public final class TraceSyntaxException extends PtlabException {
    private static final long serialVersionUID = 1L;

    public TraceSyntaxException(String file, int line, String reason) {
        super(file + ":" + line + ": " + reason);
    }
}
