package ptlab.mmu;

/**
 * The CPU control bits that change permission checks, as Linux sets them while running kernel
 * code. x86: CR0.WP is always on (kernel stores honour R/W), CR4.SMEP/SMAP on, EFLAGS.AC
 * clear outside {@code stac()} windows. arm64: PSTATE.PAN on (CONFIG_ARM64_PAN), hardware
 * access flag and dirty state (TCR.HA/HD) on, SCTLR.WXN off. RISC-V: sstatus.SUM clear outside
 * user-access windows, MXR clear, Svadu A/D updating on.
 *
 * @param userPageGuard SMAP (x86), PAN (arm64), !SUM (RISC-V): a kernel load or store to a user page faults
 * @param userExecGuard SMEP (x86); RISC-V always forbids S-mode fetches from U pages; arm64 has no such control
 *                      (user pages carry PXN instead)
 * @param mxr           RISC-V MXR: loads from execute-only pages succeed
 */
public record Controls(boolean userPageGuard, boolean userExecGuard, boolean mxr) {
    /** What Linux runs with. */
    public static final Controls LINUX = new Controls(true, true, false);
    /** A {@code stac()}/{@code uaccess_enable}/SUM=1 window: kernel may touch user data. */
    public static final Controls UACCESS = new Controls(false, true, false);
}
