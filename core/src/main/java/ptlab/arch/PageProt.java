package ptlab.arch;

/**
 * Architecture-neutral protection and state of a leaf, the {@code pgprot_t} analogue.
 *
 * <p>{@code read == false} means PROT_NONE: {@code pte_present()} but not valid for the
 * hardware (x86 PROTNONE, arm64 PTE_PRESENT_INVALID, RISC-V G without V). {@code exec} is
 * execution at the privilege the page is for: user execute for a {@code user} page, privileged
 * execute for a kernel page (arm64 sets the other XN bit; x86 relies on SMEP).
 *
 * @param read    readable (false: PROT_NONE)
 * @param write   writable
 * @param exec    executable at the page's own privilege
 * @param user    accessible from user mode
 * @param global  global translation (x86 G, arm64 !nG, RISC-V G)
 * @param young   accessed (x86 A, arm64 AF, RISC-V A)
 * @param dirty   dirty (x86 D, arm64 hardware DBM-clean state or software DIRTY, RISC-V D)
 * @param type    memory type
 */
public record PageProt(
        boolean read,
        boolean write,
        boolean exec,
        boolean user,
        boolean global,
        boolean young,
        boolean dirty,
        MemType type) {

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
}
