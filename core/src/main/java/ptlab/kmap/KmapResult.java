package ptlab.kmap;

import ptlab.mm.Errno;

/**
 * Outcome of a kernel-mapping operation, with the kernel's error number: {@code OK},
 * {@code ENOMEM} (a table or frame could not be allocated), {@code EINVAL} (misaligned or
 * outside the area), {@code EEXIST} (the range is already mapped), {@code EBUSY}.
 */
public record KmapResult(Errno errno, String detail) {
    public static final KmapResult OK = new KmapResult(Errno.OK, "");

    public boolean ok() {
        return errno == Errno.OK;
    }

    public static KmapResult noMemory(String detail) {
        return new KmapResult(Errno.ENOMEM, detail);
    }

    public static KmapResult invalid(String detail) {
        return new KmapResult(Errno.EINVAL, detail);
    }

    @Override
    public String toString() {
        return ok() ? "OK" : errno + ": " + detail;
    }
}
