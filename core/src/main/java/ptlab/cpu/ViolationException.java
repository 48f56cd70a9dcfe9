package ptlab.cpu;

import ptlab.PtlabException;

/** Thrown in strict mode when a runtime check records a {@link Violation}. */
public final class ViolationException extends PtlabException {
    private static final long serialVersionUID = 1L;
    private final transient Violation violation;

    public ViolationException(Violation v) {
        super(v.toString());
        this.violation = v;
    }

    public Violation violation() {
        return violation;
    }
}
