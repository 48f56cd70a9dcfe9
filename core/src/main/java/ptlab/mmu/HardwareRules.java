package ptlab.mmu;

import ptlab.arch.Arm64Format;
import ptlab.arch.Level;
import ptlab.arch.PteFormat;
import ptlab.arch.RiscvFormat;
import ptlab.arch.X86Format;

/**
 * What the hardware walker of one architecture family makes of an entry, beyond what
 * {@link PteFormat} (Linux's view) says: the rights a table entry leaves below it, the rights a
 * leaf grants, the encodings it rejects, the accessed/dirty update it performs, and how CPU
 * controls narrow the result. Pure functions of the word; the one walk is
 * {@link HardwareWalker}'s.
 *
 * <p>Rights are {@link Rights} bit sets. {@link #leafRights} includes a write the hardware
 * would allow by updating the entry itself (arm64 DBM); {@link #writeCached} says whether a
 * TLB entry filled from the (updated) word may keep the write right, so that a store through
 * an entry filled by a load walks again to set the dirty state, as real TLBs do.
 */
public interface HardwareRules {

    /** Rights a valid table entry at {@code level} leaves to everything below it. */
    int tableRights(Level level, long e);

    /** {@code null} if the valid table entry is acceptable, else why not. */
    FaultReason checkTable(Level level, long e);

    /** The word with the accessed flag the walker sets on a table entry it uses ({@code e} if none). */
    long tableAccessed(long e);

    /** Whether a table entry makes everything below it global (RISC-V G on a non-leaf). */
    boolean tableGlobal(long e);

    /** {@code null} if the valid leaf is acceptable, else why not. */
    FaultReason checkLeaf(Level level, long e, long entrySize);

    /** Rights the leaf grants before CPU controls (hardware-managed dirty counts as writable). */
    int leafRights(Level level, long e);

    /** Rights left after the CPU controls ({@link Controls}) are applied. */
    int applyControls(int rights, Controls c);

    /** The word after the hardware's accessed/dirty update for an allowed access ({@code e} if none). */
    long updateAccessed(long e, AccessKind kind);

    /** Whether a TLB entry filled from {@code e} may keep the write right (dirty state already recorded). */
    boolean writeCached(long e);

    /** Whether the leaf is a global translation (not ASID-tagged). */
    boolean leafGlobal(long e);

    /** Bytes one leaf maps: the entry size, or a larger run the leaf alone describes (RISC-V NAPOT). */
    default long leafSize(Level level, long e, long entrySize) {
        return entrySize;
    }

    /** One line for reports: which A/D mode is modelled. */
    String accessedDirtyMode();

    /** The rules for a format. */
    static HardwareRules of(PteFormat fmt) {
        if (fmt instanceof X86Format) {
            return new X86Rules();
        }
        if (fmt instanceof Arm64Format) {
            return new Arm64Rules();
        }
        if (fmt instanceof RiscvFormat) {
            return new RiscvRules();
        }
        throw new IllegalArgumentException("no hardware rules for format " + fmt.name());
    }
}
