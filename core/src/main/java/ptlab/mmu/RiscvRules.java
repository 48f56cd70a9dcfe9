package ptlab.mmu;

import static ptlab.arch.RiscvFormat.A;
import static ptlab.arch.RiscvFormat.D;
import static ptlab.arch.RiscvFormat.G;
import static ptlab.arch.RiscvFormat.LEAF;
import static ptlab.arch.RiscvFormat.N;
import static ptlab.arch.RiscvFormat.NAPOT_64K_PPN;
import static ptlab.arch.RiscvFormat.NAPOT_PPN_FIELD;
import static ptlab.arch.RiscvFormat.PBMT_MASK;
import static ptlab.arch.RiscvFormat.PPN_MASK;
import static ptlab.arch.RiscvFormat.PPN_SHIFT;
import static ptlab.arch.RiscvFormat.R;
import static ptlab.arch.RiscvFormat.U;
import static ptlab.arch.RiscvFormat.W;
import static ptlab.arch.RiscvFormat.X;

import ptlab.arch.Level;

/**
 * RISC-V Sv39/Sv48/Sv57 (privileged spec, "Virtual Address Translation Process") with Svadu
 * in hardware-updating mode (menvcfg.ADUE = 1), Svnapot 64 KiB and Svpbmt. A leaf grants R,
 * W, X to U-mode if U = 1 and to S-mode if U = 0; S-mode loads and stores to a U page need
 * sstatus.SUM, and S-mode never executes from a U page. MXR makes X pages readable. W without
 * R is reserved; so are D, A, U, N and PBMT on a non-leaf, a misaligned superpage, N above
 * the last level, a NAPOT size other than 64 KiB, PBMT = 3 and bits 60:54. A valid last-level
 * entry with R = W = X = 0 is a page fault too. Tables carry no permissions; G on a non-leaf
 * makes everything below it global. A/D: an allowed access sets A, a store sets A and D,
 * atomically (CAS) with the permission check; the TLB keeps write only once D is set.
 */
final class RiscvRules implements HardwareRules {
    private static final long RESERVED_BITS = 0x7FL << 54;

    @Override
    public int tableRights(Level level, long e) {
        return Rights.ALL;
    }

    @Override
    public FaultReason checkTable(Level level, long e) {
        return (e & (D | A | U | N | PBMT_MASK | RESERVED_BITS)) != 0 ? FaultReason.RESERVED : null;
    }

    @Override
    public long tableAccessed(long e) {
        return e;
    }

    @Override
    public boolean tableGlobal(long e) {
        return (e & G) != 0;
    }

    @Override
    public FaultReason checkLeaf(Level level, long e, long entrySize) {
        if ((e & LEAF) == 0 || (e & (R | W)) == W || (e & RESERVED_BITS) != 0 || (e & PBMT_MASK) == PBMT_MASK) {
            return FaultReason.RESERVED;
        }
        long ppnBits = e & PPN_MASK;
        if ((e & N) != 0) {
            if (level != Level.PTE || (ppnBits & NAPOT_PPN_FIELD) != NAPOT_64K_PPN) {
                return FaultReason.RESERVED;
            }
        } else if (((ppnBits >>> PPN_SHIFT) << 12 & (entrySize - 1)) != 0) {
            return FaultReason.RESERVED; // misaligned superpage
        }
        return null;
    }

    @Override
    public int leafRights(Level level, long e) {
        int r = ((e & R) != 0 ? Rights.KR : 0) | ((e & W) != 0 ? Rights.KW : 0) | ((e & X) != 0 ? Rights.KX : 0);
        if ((e & U) != 0) {
            r |= r >>> 3; // the same rights for U-mode; the S-mode ones go through SUM and the fetch rule
        }
        return r;
    }

    @Override
    public int applyControls(int r, Controls c) {
        if (c.mxr()) {
            r |= (r & Rights.EXEC) >>> 2; // X implies R: UX -> UR, KX -> KR
        }
        if ((r & Rights.USER) != 0) { // a U page
            r &= ~Rights.KX;
            if (c.userPageGuard()) {
                r &= ~(Rights.KR | Rights.KW);
            }
        }
        return r;
    }

    @Override
    public long updateAccessed(long e, AccessKind kind) {
        return e | A | (kind == AccessKind.WRITE ? D : 0);
    }

    @Override
    public boolean writeCached(long e) {
        return (e & D) != 0;
    }

    @Override
    public boolean leafGlobal(long e) {
        return (e & G) != 0;
    }

    @Override
    public long leafSize(Level level, long e, long entrySize) {
        return (e & N) != 0 ? entrySize << ptlab.arch.RiscvFormat.NAPOT_ORDER : entrySize;
    }

    @Override
    public String accessedDirtyMode() {
        return "riscv: Svadu hardware updating, A on access and D on store (CAS)";
    }
}
