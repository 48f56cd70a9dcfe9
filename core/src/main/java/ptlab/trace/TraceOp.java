package ptlab.trace;

/** One parsed trace line. {@code line} is its 1-based line number in the source. */
public sealed interface TraceOp permits TraceOp.Mmap, TraceOp.Touch, TraceOp.Munmap, TraceOp.Mprotect, TraceOp.Madvise,
        TraceOp.Fork {

    int line();

    /** {@code mmap ADDR LEN [prot] [shared] [thp|nothp]}; {@code thp}: +1 hugepage, -1 nohugepage, 0 none. */
    record Mmap(int line, long addr, long len, int prot, boolean shared, int thp) implements TraceOp {}

    /** {@code touch ADDR LEN [read|write]}. */
    record Touch(int line, long addr, long len, boolean write) implements TraceOp {}

    record Munmap(int line, long addr, long len) implements TraceOp {}

    /** {@code mprotect ADDR LEN PROT} with PROT as Linux PROT_* bits (1 read, 2 write, 4 exec). */
    record Mprotect(int line, long addr, long len, int prot) implements TraceOp {}

    record Madvise(int line, long addr, long len, Advice advice) implements TraceOp {}

    record Fork(int line) implements TraceOp {}

    /** The madvise advices of the trace language. */
    enum Advice {
        DONTNEED,
        HUGEPAGE,
        NOHUGEPAGE,
        COLLAPSE
    }
}
