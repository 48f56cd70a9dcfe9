package ptlab.mmu;

/** What the CPU does with the address: a data load, a data store, or an instruction fetch. */
public enum AccessKind {
    READ,
    WRITE,
    EXEC
}
