package ptlab.mm;

/** Outcome of a system call, with Linux's errno numbers (x86-64 asm-generic values). */
public enum Errno {
    OK(0),
    EPERM(1),
    EAGAIN(11),
    ENOMEM(12),
    EFAULT(14),
    EBUSY(16),
    EEXIST(17),
    EINVAL(22);

    private final int code;

    Errno(int code) {
        this.code = code;
    }

    public int code() {
        return code;
    }

    public boolean ok() {
        return this == OK;
    }
}
