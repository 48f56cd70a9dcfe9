package ptlab.sim;

import ptlab.PtlabException;

/** A scenario that cannot run as written (a step out of order), named by its line. */
public final class SimulationException extends PtlabException {
    private static final long serialVersionUID = 1L;

    public SimulationException(String message) {
        super(message);
    }

    public SimulationException(String message, Throwable cause) {
        super(message, cause);
    }
}
