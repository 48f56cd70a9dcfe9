package ptlab.arch;

import java.util.Objects;

/**
 * Architecture-neutral protection and state of a leaf, the {@code pgprot_t} analogue.
 *
 * <p>{@code read == false} means PROT_NONE: {@code pte_present()} but not valid for the
 * hardware (x86 PROTNONE, arm64 PTE_PRESENT_INVALID, RISC-V G without V). {@code exec} is
 * execution at the privilege the page is for: user execute for a {@code user} page, privileged
 * execute for a kernel page (arm64 sets the other XN bit; x86 relies on SMEP).
 *
 * <p>A value class with the shape of a record: the canonical constructor, one accessor per
 * component, {@code equals}/{@code hashCode} by value and the record's {@code toString} form.
 */
public final class PageProt {
    /*
     * Implementation notes.
     *
     * Why not a record: a record can hold no field beside its components, and the encoders need
     * one. Each value carries its dense ProtTable index (7 flag bits, the MemType ordinal above
     * them), computed once here, so pfn_pte is pa | bitsTable[index]: one load, no branch. Built
     * from the components at every call, the index cost one unpredictable branch per flag (or a
     * compare-and-set per flag): with the benchmark's four mixed protections x86 encoded at
     * 3.3-5.3 ns per entry, arm64 3.4-8.4, RISC-V 3.4-6.1. With the precomputed index, see the
     * figures in EntryCodecBench's notes. A 9th record component derived in the compact
     * constructor would have worked too, at the price of a public constructor taking a value it
     * must ignore and an index in toString and the public accessors.
     *
     * The API is the record's, so callers compile unchanged; equals compares the index, which
     * encodes every component (type included). Values are still created freely with new; the
     * decoders return the interned ones of ProtTable, which allocate nothing.
     */
    private final boolean read;
    private final boolean write;
    private final boolean exec;
    private final boolean user;
    private final boolean global;
    private final boolean young;
    private final boolean dirty;
    private final MemType type;
    /** The ProtTable index: the ProtTable flag bits, and the type ordinal from TYPE_SHIFT up. */
    private final int index;

    /** {@code PAGE_NONE}: present but inaccessible. */
    public static final PageProt USER_NONE = new PageProt(false, false, false, true, false, false, false, MemType.NORMAL);
    /** {@code PAGE_READONLY}. */
    public static final PageProt USER_READ = new PageProt(true, false, false, true, false, true, false, MemType.NORMAL);
    /** {@code PAGE_SHARED} / a written private page after COW. */
    public static final PageProt USER_RW = new PageProt(true, true, false, true, false, true, true, MemType.NORMAL);
    /** {@code PAGE_READONLY_EXEC}. */
    public static final PageProt USER_RX = new PageProt(true, false, true, true, false, true, false, MemType.NORMAL);
    /** {@code PAGE_KERNEL}: kernel data, global. */
    public static final PageProt KERNEL_RW = new PageProt(true, true, false, false, true, true, true, MemType.NORMAL);
    /** {@code PAGE_KERNEL_RO}. */
    public static final PageProt KERNEL_RO = new PageProt(true, false, false, false, true, true, false, MemType.NORMAL);
    /** {@code PAGE_KERNEL_EXEC}. */
    public static final PageProt KERNEL_RWX = new PageProt(true, true, true, false, true, true, true, MemType.NORMAL);
    /** {@code PAGE_KERNEL_ROX}. */
    public static final PageProt KERNEL_ROX = new PageProt(true, false, true, false, true, true, false, MemType.NORMAL);

    /**
     * @param read    readable (false: PROT_NONE)
     * @param write   writable
     * @param exec    executable at the page's own privilege
     * @param user    accessible from user mode
     * @param global  global translation (x86 G, arm64 !nG, RISC-V G)
     * @param young   accessed (x86 A, arm64 AF, RISC-V A)
     * @param dirty   dirty (x86 D, arm64 hardware DBM-clean state or software DIRTY, RISC-V D)
     * @param type    memory type, not null
     */
    public PageProt(boolean read, boolean write, boolean exec, boolean user, boolean global, boolean young, boolean dirty,
            MemType type) {
        this.read = read;
        this.write = write;
        this.exec = exec;
        this.user = user;
        this.global = global;
        this.young = young;
        this.dirty = dirty;
        this.type = Objects.requireNonNull(type, "type");
        this.index = (read ? ProtTable.READ : 0) | (write ? ProtTable.WRITE : 0) | (exec ? ProtTable.EXEC : 0)
                | (user ? ProtTable.USER : 0) | (global ? ProtTable.GLOBAL : 0) | (young ? ProtTable.YOUNG : 0)
                | (dirty ? ProtTable.DIRTY : 0) | type.ordinal() << ProtTable.TYPE_SHIFT;
    }

    /** Readable (false: PROT_NONE). */
    public boolean read() {
        return read;
    }

    /** Writable. */
    public boolean write() {
        return write;
    }

    /** Executable at the page's own privilege. */
    public boolean exec() {
        return exec;
    }

    /** Accessible from user mode. */
    public boolean user() {
        return user;
    }

    /** Global translation (x86 G, arm64 !nG, RISC-V G). */
    public boolean global() {
        return global;
    }

    /** Accessed (x86 A, arm64 AF, RISC-V A). */
    public boolean young() {
        return young;
    }

    /** Dirty (x86 D, arm64 hardware DBM-clean state or software DIRTY, RISC-V D). */
    public boolean dirty() {
        return dirty;
    }

    /** Memory type. */
    public MemType type() {
        return type;
    }

    /** Dense index of this value in {@link ProtTable} (0 .. {@link ProtTable#SIZE} - 1), for table-driven encoders. */
    int index() {
        return index;
    }

    public PageProt withWrite(boolean w) {
        return new PageProt(read, w, exec, user, global, young, dirty, type);
    }

    public PageProt withExec(boolean x) {
        return new PageProt(read, write, x, user, global, young, dirty, type);
    }

    public PageProt withYoung(boolean y) {
        return new PageProt(read, write, exec, user, global, y, dirty, type);
    }

    public PageProt withDirty(boolean d) {
        return new PageProt(read, write, exec, user, global, young, d, type);
    }

    public PageProt withType(MemType t) {
        return new PageProt(read, write, exec, user, global, young, dirty, t);
    }

    /** The protection an mmap/mprotect PROT_* combination asks for, for a user page. */
    public static PageProt user(boolean read, boolean write, boolean exec) {
        if (!read && !write && !exec) {
            return USER_NONE;
        }
        return new PageProt(true, write, exec, true, false, true, write, MemType.NORMAL);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof PageProt && ((PageProt) o).index == index;
    }

    @Override
    public int hashCode() {
        return index;
    }

    /** The record form, {@code PageProt[read=true, write=false, ...]}. */
    @Override
    public String toString() {
        return "PageProt[read=" + read + ", write=" + write + ", exec=" + exec + ", user=" + user + ", global=" + global
                + ", young=" + young + ", dirty=" + dirty + ", type=" + type + "]";
    }
}
