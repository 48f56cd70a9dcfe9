package ptlab.mmu;

/** Told after each completed flush (every CPU has applied it or will before its next translation); for tests and tracing. */
@FunctionalInterface
public interface FlushObserver {
    void flushed(FlushRequest request);
}
