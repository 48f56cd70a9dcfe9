package ptlab.trace;

import java.util.ArrayList;
import java.util.List;
import ptlab.mm.Advice;
import ptlab.mm.Errno;
import ptlab.mm.Kernel;
import ptlab.mm.Process;
import ptlab.pgtable.KernelConfig;
import ptlab.phys.OutOfMemoryException;

/**
 * Runs parsed trace operations on one simulated process and formats each step as the kernel
 * driver does: {@code STEP DELTA_KB}, {@code STEP DELTA_KB fork} (the child's VmPTE), with
 * {@code  err=ERRNO} appended for a failed call. The child of a fork exits at once, as the
 * driver's does.
 */
public final class Replayer {
    private final Kernel kernel;
    private final Process proc;
    private final long base;
    private final String file;
    private int step;

    public Replayer(KernelConfig config) {
        this(config, "trace");
    }

    /** @param file the trace's name, used in {@code FILE:LINE: reason} messages */
    public Replayer(KernelConfig config, String file) {
        this.file = file;
        this.kernel = new Kernel(config);
        this.proc = kernel.newProcess("trace");
        this.base = proc.vmPteBytes();
    }

    public Kernel kernel() {
        return kernel;
    }

    public Process process() {
        return proc;
    }

    /** Replays {@code ops} after checking all of them, so a bad line stops the trace before any step runs. */
    public List<String> run(List<TraceOp> ops) {
        validate(ops);
        List<String> out = new ArrayList<>(ops.size());
        for (TraceOp op : ops) {
            out.add(step(op));
        }
        return out;
    }

    /**
     * Applies one operation and returns its output line.
     *
     * @throws TraceSyntaxException when the operation's range leaves the modelled user address
     *     space (nothing is applied then)
     */
    public String step(TraceOp op) {
        checkRange(op);
        step++;
        if (op instanceof TraceOp.Fork) {
            Process child;
            try {
                child = proc.fork("child" + step);
            } catch (OutOfMemoryException e) {
                // fork() returned -ENOMEM: no child, so no child VmPTE (0), and the errno as for any failed call.
                return step + " 0 fork err=" + Errno.ENOMEM.code();
            }
            long kb = child.vmPteBytes() >> 10;
            child.exit();
            return step + " " + kb + " fork";
        }
        Errno e = apply(op);
        long kb = (proc.vmPteBytes() - base) >> 10;
        return e.ok() ? step + " " + kb : step + " " + kb + " err=" + e.code();
    }

    private Errno apply(TraceOp op) {
        return apply(proc, op);
    }

    /**
     * Applies one trace operation other than {@code fork} to {@code proc} and returns what
     * Linux would: mmap (plus the thp/nothp madvise), touch, munmap, mprotect, madvise.
     */
    public static Errno apply(Process proc, TraceOp op) {
        if (op instanceof TraceOp.Fork) {
            throw new IllegalArgumentException("fork is not a single-process operation");
        }
        if (op instanceof TraceOp.Mmap) {
            TraceOp.Mmap m = (TraceOp.Mmap) op;
            Errno e = proc.mmap(m.addr(), m.len(), m.prot(), m.shared());
            if (e.ok() && m.thp() != 0) {
                e = proc.madvise(m.addr(), m.len(), m.thp() > 0 ? Advice.HUGEPAGE : Advice.NOHUGEPAGE);
            }
            return e;
        }
        if (op instanceof TraceOp.Touch) {
            TraceOp.Touch t = (TraceOp.Touch) op;
            return proc.touch(t.addr(), t.len(), t.write());
        }
        if (op instanceof TraceOp.Munmap) {
            TraceOp.Munmap m = (TraceOp.Munmap) op;
            return proc.munmap(m.addr(), m.len());
        }
        if (op instanceof TraceOp.Mprotect) {
            TraceOp.Mprotect m = (TraceOp.Mprotect) op;
            return proc.mprotect(m.addr(), m.len(), m.prot());
        }
        TraceOp.Madvise m = (TraceOp.Madvise) op;
        return proc.madvise(m.addr(), m.len(), Advice.valueOf(m.advice().name()));
    }

    /**
     * Checks every operation's range against the modelled architecture's user address space.
     *
     * @throws TraceSyntaxException naming the first bad line
     */
    public void validate(List<TraceOp> ops) {
        for (TraceOp op : ops) {
            checkRange(op);
        }
    }

    /**
     * An address range past TASK_SIZE is a mistake in the trace (the driver's traces live at
     * 16 TiB and up), reported as bad input rather than replayed as an errno.
     */
    private void checkRange(TraceOp op) {
        long addr;
        long len;
        if (op instanceof TraceOp.Mmap) {
            addr = ((TraceOp.Mmap) op).addr();
            len = ((TraceOp.Mmap) op).len();
        } else if (op instanceof TraceOp.Touch) {
            addr = ((TraceOp.Touch) op).addr();
            len = ((TraceOp.Touch) op).len();
        } else if (op instanceof TraceOp.Munmap) {
            addr = ((TraceOp.Munmap) op).addr();
            len = ((TraceOp.Munmap) op).len();
        } else if (op instanceof TraceOp.Mprotect) {
            addr = ((TraceOp.Mprotect) op).addr();
            len = ((TraceOp.Mprotect) op).len();
        } else if (op instanceof TraceOp.Madvise) {
            addr = ((TraceOp.Madvise) op).addr();
            len = ((TraceOp.Madvise) op).len();
        } else {
            return;
        }
        long page = kernel.pageTables().geometry().pageSize();
        if (!(op instanceof TraceOp.Touch) && (addr & (page - 1)) != 0) {
            // The parser checked 4 KiB; a 16K or 64K granule needs more (README: bad input, not EINVAL).
            throw new TraceSyntaxException(file, op.line(), "address 0x" + Long.toHexString(addr) + " is not aligned to a "
                    + (page >> 10) + " KiB page (" + kernel.pageTables().arch().name() + ")");
        }
        long top = kernel.taskSize();
        // A zero-length range at TASK_SIZE is not outside: the kernel answers it (madvise and
        // mprotect 0, munmap and mmap EINVAL).
        boolean outside = Long.compareUnsigned(addr, top) > 0 || (addr == top && len != 0);
        if (outside || Long.compareUnsigned(len, top - addr) > 0) {
            throw new TraceSyntaxException(file, op.line(), "range 0x" + Long.toHexString(addr) + " + 0x"
                    + Long.toHexString(len) + " is outside the user address space (TASK_SIZE 0x"
                    + Long.toHexString(top) + ")");
        }
    }

    /** Ends the process (all tables freed); the kernel's state can then be checked for leaks. */
    public void finish() {
        if (!proc.exited()) {
            proc.exit();
        }
    }
}
