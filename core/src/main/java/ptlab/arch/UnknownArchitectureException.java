package ptlab.arch;

import ptlab.PtlabException;

/** An architecture name that {@link Architectures} does not know. */
public final class UnknownArchitectureException extends PtlabException {
    private static final long serialVersionUID = 1L;

    public UnknownArchitectureException(String name, java.util.Collection<String> known) {
        super("unknown architecture '" + name + "' (known: " + String.join(", ", known) + ")");
    }
}
