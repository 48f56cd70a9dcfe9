package ptlab;

/**
 * Root of every exception ptlab throws for bad input or a refused operation. Its message is
 * one line that names what was wrong and where, so the CLI can print it as is.
 */
public class PtlabException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public PtlabException(String message) {
        super(message);
    }

    public PtlabException(String message, Throwable cause) {
        super(message, cause);
    }
}
