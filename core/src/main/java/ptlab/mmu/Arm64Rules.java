package ptlab.mmu;

import static ptlab.arch.Arm64Format.AF;
import static ptlab.arch.Arm64Format.AP_TABLE_SHIFT;
import static ptlab.arch.Arm64Format.DBM;
import static ptlab.arch.Arm64Format.NG;
import static ptlab.arch.Arm64Format.PXN;
import static ptlab.arch.Arm64Format.PXN_TABLE;
import static ptlab.arch.Arm64Format.RDONLY;
import static ptlab.arch.Arm64Format.TYPE_MASK;
import static ptlab.arch.Arm64Format.TYPE_PAGE;
import static ptlab.arch.Arm64Format.USER;
import static ptlab.arch.Arm64Format.UXN;
import static ptlab.arch.Arm64Format.UXN_TABLE;

import ptlab.arch.Level;

/**
 * arm64 VMSAv8-64 stage 1, EL1&amp;0 regime (Arm ARM D8.4 "Memory access control"), with
 * FEAT_HAFDBS on (TCR_EL1.HA = HD = 1, as Linux enables it when present), PSTATE.PAN = 1,
 * SCTLR_EL1.WXN = 0, no FEAT_EPAN/FEAT_HAFT/permission indirection.
 *
 * <pre>
 * AP[2:1]  EL1      EL0        (AP[2] = PTE_RDONLY bit 7, AP[1] = PTE_USER bit 6)
 *   00     RW       none
 *   01     RW       RW         (and EL1 may not execute: implicit PXN for EL0-writable pages)
 *   10     RO       none
 *   11     RO       RO
 * </pre>
 * EL0 may execute iff UXN = 0, whatever AP[1] says (execute-only memory); EL1 iff PXN = 0.
 * Table attributes narrow everything below: APTable[0] (bit 61) removes EL0 data access,
 * APTable[1] (bit 62) removes write at both ELs, UXNTable/PXNTable remove execution.
 * A/D: with HA an access to a leaf with AF = 0 sets AF (CAS), no access-flag fault; with HD a
 * store to a leaf with DBM = 1 and AP[2] = 1 clears AP[2] (CAS) instead of faulting, DBM
 * overriding only the leaf's AP[2], never APTable[1]. The table AF (FEAT_HAFT) is not updated.
 * A page is writable in the TLB only once AP[2] is clear.
 */
final class Arm64Rules implements HardwareRules {
    private static final long AP_TABLE_NO_EL0 = 1L << AP_TABLE_SHIFT;
    private static final long AP_TABLE_RO = 2L << AP_TABLE_SHIFT;

    @Override
    public int tableRights(Level level, long e) {
        int r = Rights.ALL;
        if ((e & AP_TABLE_NO_EL0) != 0) {
            r &= ~(Rights.UR | Rights.UW);
        }
        if ((e & AP_TABLE_RO) != 0) {
            r &= ~Rights.WRITE;
        }
        if ((e & UXN_TABLE) != 0) {
            r &= ~Rights.UX;
        }
        if ((e & PXN_TABLE) != 0) {
            r &= ~Rights.KX;
        }
        return r;
    }

    @Override
    public FaultReason checkTable(Level level, long e) {
        return null;
    }

    @Override
    public long tableAccessed(long e) {
        return e;
    }

    @Override
    public boolean tableGlobal(long e) {
        return false;
    }

    /** At level 3 only bits[1:0] = 11 is a page; 01 there is an invalid descriptor. */
    @Override
    public FaultReason checkLeaf(Level level, long e, long entrySize) {
        if (level == Level.PTE && (e & TYPE_MASK) != TYPE_PAGE) {
            return FaultReason.NOT_PRESENT;
        }
        return null;
    }

    @Override
    public int leafRights(Level level, long e) {
        boolean el0 = (e & USER) != 0;
        boolean ro = (e & RDONLY) != 0;
        boolean writable = !ro || (e & DBM) != 0;
        int r = Rights.KR | (writable ? Rights.KW : 0);
        if (el0) {
            r |= Rights.UR | (writable ? Rights.UW : 0);
        }
        if ((e & UXN) == 0) {
            r |= Rights.UX;
        }
        if ((e & PXN) == 0 && !(el0 && !ro)) {
            r |= Rights.KX;
        }
        return r;
    }

    @Override
    public int applyControls(int r, Controls c) {
        if (c.userPageGuard() && (r & (Rights.UR | Rights.UW)) != 0) { // PAN
            r &= ~(Rights.KR | Rights.KW);
        }
        return r;
    }

    @Override
    public long updateAccessed(long e, AccessKind kind) {
        e |= AF;
        if (kind == AccessKind.WRITE && (e & (RDONLY | DBM)) == (RDONLY | DBM)) {
            e &= ~RDONLY;
        }
        return e;
    }

    @Override
    public boolean writeCached(long e) {
        return (e & RDONLY) == 0;
    }

    @Override
    public boolean leafGlobal(long e) {
        return (e & NG) == 0;
    }

    @Override
    public String accessedDirtyMode() {
        return "arm64: FEAT_HAFDBS, HA sets AF and HD clears AP[2] on DBM pages (CAS); no table AF";
    }
}
