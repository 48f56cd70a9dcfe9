package ptlab.mmu;

/**
 * The privilege of an access: user (x86 CPL 3, arm64 EL0, RISC-V U-mode) or kernel (CPL 0,
 * EL1, S-mode). Kernel accesses to user memory that must honour user permissions
 * ({@code copy_from_user} on arm64 uses LDTR/STTR) are made as {@code USER}.
 */
public enum Privilege {
    USER,
    KERNEL
}
