package ptlab.phys;

/** Outcome of a frame allocation: a block of frames, or a typed failure the caller must handle. */
public sealed interface AllocResult permits AllocResult.Frames, AllocResult.Failed {

    /** {@code 2^order} frames starting at {@code pfn}. */
    record Frames(long pfn, int order) implements AllocResult {}

    /** No memory (real exhaustion or an injected failure) at {@code site}. */
    record Failed(String site, int order, boolean injected) implements AllocResult {
        @Override
        public String toString() {
            return "ENOMEM at " + site + " (order " + order + (injected ? ", injected" : "") + ")";
        }
    }

    default boolean ok() {
        return this instanceof Frames;
    }

    /** The first pfn; throws {@link OutOfMemoryException} if this is a failure. */
    default long pfnOrThrow() {
        if (this instanceof Frames) {
            return ((Frames) this).pfn();
        }
        throw new OutOfMemoryException((Failed) this);
    }
}
