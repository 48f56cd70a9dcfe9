package ptlab.kmap;

import ptlab.arch.Level;

/**
 * One step of a kernel-entry update as {@link BbmTracker} saw it, for tests that assert the
 * order of break-before-make (STYLE rule 15).
 *
 * @param kind  what happened
 * @param level run-time level of the entry ({@code null} for a flush)
 * @param start first address affected
 * @param end   end of the affected range
 */
public record BbmEvent(Kind kind, Level level, long start, long end) {

    public enum Kind {
        /** none/invalid → valid. */
        SET,
        /** valid → invalid (the "break"). */
        CLEAR,
        /** valid → a different valid entry with no break in between. */
        REPLACE_LIVE,
        /** {@code flush_tlb_kernel_range}. */
        TLBI,
        /** A CPU's TLB could hold two translations for one address. */
        CONFLICT
    }

    @Override
    public String toString() {
        return kind + (level == null ? "" : "@" + level) + "[0x" + Long.toHexString(start) + ",0x" + Long.toHexString(end) + ")";
    }
}
