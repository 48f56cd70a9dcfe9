package ptlab.mmu;

/**
 * Why a translation faulted. Permission reasons are decided in this order: the page is not
 * usable at the access's privilege at all ({@link #PRIVILEGE}), the access kind is not granted
 * ({@link #WRITE_PROTECTED}, {@link #NO_EXECUTE}, {@link #NO_READ}), and last the CPU control
 * that forbids a kernel access to a user page ({@link #USER_PAGE_GUARD}: SMAP/SMEP, PAN, SUM).
 */
public enum FaultReason {
    /** The address is outside the translated range (x86 #GP, arm64 level-0 translation fault, RISC-V page fault). */
    NOT_CANONICAL,
    /** An entry on the path is not valid (x86 P=0, arm64 bit 0 clear, RISC-V V=0): a translation fault. */
    NOT_PRESENT,
    /** A valid entry with an encoding the hardware rejects (reserved bits, a leaf where none may stand). */
    RESERVED,
    /** User access to a page only the kernel may use (x86 U/S, arm64 AP[1] or APTable[0], RISC-V U=0). */
    PRIVILEGE,
    /** A store to a page that is read-only at this privilege. */
    WRITE_PROTECTED,
    /** An instruction fetch from a non-executable page (NX, UXN/PXN or their table forms, RISC-V X=0). */
    NO_EXECUTE,
    /** A load from a page that is not readable (arm64 EL0 execute-only, RISC-V X-only without MXR). */
    NO_READ,
    /** A kernel access to a user page that the CPU control forbids (x86 SMAP/SMEP, arm64 PAN, RISC-V SUM and the U-page fetch rule). */
    USER_PAGE_GUARD
}
