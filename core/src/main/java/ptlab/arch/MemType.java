package ptlab.arch;

/** Memory type of a leaf: x86 PAT/PCD/PWT, arm64 AttrIndx (MAIR slot), RISC-V PBMT. */
public enum MemType {
    /** Write-back cacheable (x86 WB, arm64 MT_NORMAL, RISC-V PMA). */
    NORMAL,
    /** Non-cacheable normal memory (x86 WC, arm64 MT_NORMAL_NC, RISC-V NC). */
    NORMAL_NC,
    /** Device / uncached I/O (x86 UC, arm64 MT_DEVICE_nGnRE, RISC-V IO). */
    DEVICE
}
