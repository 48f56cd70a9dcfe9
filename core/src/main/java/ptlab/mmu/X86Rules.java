package ptlab.mmu;

import static ptlab.arch.X86Format.A;
import static ptlab.arch.X86Format.D;
import static ptlab.arch.X86Format.G;
import static ptlab.arch.X86Format.NX;
import static ptlab.arch.X86Format.PAT_LARGE;
import static ptlab.arch.X86Format.PA_MASK;
import static ptlab.arch.X86Format.RW;
import static ptlab.arch.X86Format.US;

import ptlab.arch.Level;

/**
 * x86-64 4-level and 5-level paging (Intel SDM vol. 3A, 4.6 "Access Rights", 4.8 "Accessed
 * and Dirty Flags"), with CR0.WP = 1, EFER.NXE = 1, CR4.PGE = 1 and CR4.SMEP/SMAP as
 * {@link Controls} say. Rights combine over all levels: a user access needs U/S = 1 at every
 * level, a store needs R/W = 1 at every level (kernel stores too, because of WP), a fetch
 * needs XD = 0 at every level. A page is a "user-mode address" for SMAP/SMEP only if U/S = 1
 * at every level. A/D: the walker sets A in every paging-structure entry it uses and in the
 * leaf, and D in the leaf on a store, each by a locked compare-and-set; a TLB entry filled
 * while D = 0 is not writable, so a later store walks again (SDM 4.8).
 * Not modelled: protection keys, reserved-bit checks above MAXPHYADDR, EFLAGS.AC (use
 * {@link Controls#UACCESS}), the PAT memory type.
 */
final class X86Rules implements HardwareRules {

    /**
     * The entry's three permission bits as grants: U/S and R/W as they are, XD flipped (bit 63
     * set means "executable"). A right needs its grants at every level (SDM 4.6), so the AND
     * of the grants over a path is what the path grants: X86Walker accumulates that one word.
     */
    static long grants(long e) {
        return e ^ NX;
    }

    /**
     * The rights a set of grants ({@link #grants}, or their AND over a path) allows: the one
     * x86 rights rule. A table entry and a leaf restrict in the same way, so it serves
     * {@link #tableRights} and {@link #leafRights} both.
     */
    static int rightsOf(long grants) {
        boolean w = (grants & RW) != 0;
        boolean x = (grants & NX) != 0; // NX flipped: set means executable
        int r = Rights.KR | (w ? Rights.KW : 0) | (x ? Rights.KX : 0);
        if ((grants & US) != 0) {
            r |= Rights.UR | (w ? Rights.UW : 0) | (x ? Rights.UX : 0);
        }
        return r;
    }

    @Override
    public int tableRights(Level level, long e) {
        return rightsOf(grants(e));
    }

    @Override
    public FaultReason checkTable(Level level, long e) {
        return null;
    }

    @Override
    public long tableAccessed(long e) {
        return e | A;
    }

    @Override
    public boolean tableGlobal(long e) {
        return false;
    }

    /** A 2M/1G leaf's address bits between PAT (bit 12) and the leaf size are reserved. */
    @Override
    public FaultReason checkLeaf(Level level, long e, long entrySize) {
        if (level != Level.PTE && (e & PA_MASK & ~PAT_LARGE & (entrySize - 1)) != 0) {
            return FaultReason.RESERVED;
        }
        return null;
    }

    @Override
    public int leafRights(Level level, long e) {
        return rightsOf(grants(e));
    }

    @Override
    public int applyControls(int r, Controls c) {
        if ((r & Rights.UR) != 0) { // U/S = 1 at every level: a user-mode address
            if (c.userPageGuard()) {
                r &= ~(Rights.KR | Rights.KW);
            }
            if (c.userExecGuard()) {
                r &= ~Rights.KX;
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
    public String accessedDirtyMode() {
        return "x86: hardware sets A on every entry used and D on the leaf (locked CAS)";
    }
}
