package ptlab.mm;

/**
 * What the kernel does to the bytes of user pages, for a program that keeps them. ptlab models
 * frames, tables and translations but holds no data: an emulator that stores guest memory by
 * physical address ({@code CpuMmu.translatePa}) must zero a page the kernel hands out zeroed
 * and copy one the kernel copies, or a fork's copy-on-write loses data and a new page shows
 * what a freed one held. Register one with {@link Kernel#setPageContents}.
 *
 * <p>Each call comes from the thread that runs the kernel path (a vCPU's fault, the thread of
 * an madvise), before the new page is mapped: no CPU can translate to {@code to} or
 * {@code pfn} yet, and the source of a copy is mapped read-only everywhere (or not at all), so
 * nothing writes it meanwhile. Calls for different frames may come from several threads at
 * once. The kernel holds page-table locks around some of them: an implementation must return
 * without calling into ptlab.
 *
 * <p>Every frame a user mapping can reach is named before it is mapped: a new or copied page
 * at its kernel path, the zero pages ({@code empty_zero_page}, the huge zero page, shared by
 * read-only mappings) when the hook is registered or, for the huge zero page, when it is first
 * allocated. So a program may start its memory with any bytes. Page tables are ptlab's own
 * words and never named. Snapshot analysis ({@code ptlab.snapshot}) rebuilds pages whose bytes
 * it does not know: what it tells of them means nothing.
 */
public interface PageContents {
    /**
     * {@code clear_user_highpage}, {@code folio_zero_user}: the {@code 2^order} frames from
     * {@code pfn} must read as zeros.
     *
     * @param site the kernel function, e.g. {@code do_anonymous_page}
     */
    void clear(long pfn, int order, String site);

    /**
     * {@code copy_user_highpage}, {@code copy_mc_user_highpage}: frame {@code toPfn} gets the
     * bytes of frame {@code fromPfn} (one base page).
     *
     * @param site the kernel function, e.g. {@code wp_page_copy}
     */
    void copy(long fromPfn, long toPfn, String site);

    /** Nothing kept: the default. */
    PageContents NONE = new PageContents() {
        @Override
        public void clear(long pfn, int order, String site) {}

        @Override
        public void copy(long fromPfn, long toPfn, String site) {}
    };
}
