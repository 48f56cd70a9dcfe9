package ptlab.cpu;

/**
 * One broken rule, found by a runtime check or by the invariant checker.
 *
 * @param kind   short stable name of the rule, e.g. {@code might-sleep}, {@code ctor-balance}
 * @param detail one line naming the object and the facts
 */
public record Violation(String kind, String detail) {
    @Override
    public String toString() {
        return kind + ": " + detail;
    }
}
