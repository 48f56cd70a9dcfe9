package ptlab.mm;

/**
 * A {@code vm_area_struct}: {@code [start, end)} with its {@code vm_flags}, anon_vma and,
 * for shared anonymous memory, the shmem file and page offset it maps.
 */
public final class Vma {
    public static final int READ = 1;
    public static final int WRITE = 1 << 1;
    public static final int EXEC = 1 << 2;
    public static final int SHARED = 1 << 3;
    public static final int HUGEPAGE = 1 << 4;
    public static final int NOHUGEPAGE = 1 << 5;
    public static final int ACCOUNT = 1 << 6;

    long start;
    long end;
    int flags;
    /** {@code vma->anon_vma}: non-null once a write fault (or THP fault) prepared it. */
    AnonVma anonVma;
    /** The shmem file of a shared anonymous mapping, else {@code null}. */
    final Shmem shmem;
    /** {@code vm_pgoff}: page offset of {@code start} in the file (anon private: {@code start >> PAGE_SHIFT}). */
    long pgoff;

    Vma(long start, long end, int flags, Shmem shmem, long pgoff) {
        this.start = start;
        this.end = end;
        this.flags = flags;
        this.shmem = shmem;
        this.pgoff = pgoff;
    }

    /**
     * Whether this VMA's anon_vma_chain has more than one entry: a child's VMA after fork also
     * links its parent's anon_vma. Such an anon_vma is never reused by a neighbour.
     */
    boolean chainNotSingular;
    /** The process, for {@code find_mergeable_anon_vma}'s look at the neighbours. */
    Process owner;

    /**
     * {@code anon_vma_prepare}: faults run under the read lock, so two may race here. A
     * neighbour's anon_vma is reused when the two could merge but for their protections
     * ({@code find_mergeable_anon_vma}: next first, then prev).
     */
    synchronized void anonVmaPrepare() {
        if (anonVma == null) {
            AnonVma reuse = owner == null ? null : owner.findMergeableAnonVma(this);
            anonVma = reuse != null ? reuse : new AnonVma();
        }
    }

    Vma copyRange(long s, long e, int pageShift) {
        Vma v = new Vma(s, e, flags, shmem, pgoff + ((s - start) >>> pageShift));
        v.anonVma = anonVma;
        v.chainNotSingular = chainNotSingular;
        v.owner = owner;
        return v;
    }

    public long start() {
        return start;
    }

    public long end() {
        return end;
    }

    public int flags() {
        return flags;
    }

    public boolean has(int flag) {
        return (flags & flag) != 0;
    }

    public boolean isAnonymous() {
        return shmem == null;
    }

    public boolean hasAnonVma() {
        return anonVma != null;
    }

    /**
     * Whether {@code vm_page_prot} itself grants write: a shared writable mapping. Shared
     * anonymous memory is shmem, which needs no write notification ({@code
     * vma_wants_writenotify} is false: no page_mkwrite, no writeback), so its faults, its
     * collapse and mprotect map pages writable even for a read. A private mapping's
     * {@code vm_page_prot} never grants write: that waits for the write fault (COW).
     */
    boolean pageProtWritable() {
        return shmem != null && has(WRITE);
    }

    /**
     * The protection a fault maps a page or huge page with ({@code set_pte_range},
     * {@code do_set_pmd}, {@code do_anonymous_page}): {@code vm_page_prot}, and for a write
     * fault {@code maybe_mkwrite(pte_mkdirty(entry))}. Dirty only when written.
     */
    ptlab.arch.PageProt faultProt(boolean write) {
        return pageProt(write || pageProtWritable()).withDirty(write);
    }

    /**
     * {@code pte_modify}/{@code pmd_modify} of an entry for this VMA's (new) protection: write
     * only if the VMA is writable and the entry was, or {@code vm_page_prot} grants it; the
     * entry's accessed and dirty state kept.
     */
    ptlab.arch.PageProt modifyProt(boolean oldWrite, boolean young, boolean dirty) {
        return pageProt(has(WRITE) && (oldWrite || pageProtWritable())).withYoung(young).withDirty(dirty);
    }

    /**
     * The user protection {@code protection_map} gives this VMA's flags, writable or not as
     * asked: write implies read (no architecture maps a page write-only), PROT_NONE is
     * {@code PAGE_NONE}.
     */
    ptlab.arch.PageProt pageProt(boolean writable) {
        return accessible() ? ptlab.arch.PageProt.user(has(READ) || has(WRITE), writable, has(EXEC)) : ptlab.arch.PageProt.USER_NONE;
    }

    /** {@code vma_is_accessible}: any of read, write, exec (x86 cannot make a present page unreadable). */
    public boolean accessible() {
        return (flags & (READ | WRITE | EXEC)) != 0;
    }

    @Override
    public String toString() {
        return String.format("%x-%x %s%s%s%s%s%s", start, end, has(READ) ? "r" : "-", has(WRITE) ? "w" : "-",
                has(EXEC) ? "x" : "-", has(SHARED) ? "s" : "p", has(HUGEPAGE) ? " hg" : "", has(NOHUGEPAGE) ? " nh" : "");
    }

    /** {@code struct anon_vma}: identity is all that matters for merging and fork. */
    static final class AnonVma {}
}
