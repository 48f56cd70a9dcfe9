package ptlab.walk;

/**
 * How a walk treats tables and locks.
 *
 * @param install   install missing tables on the way down ({@code install_pte}-like; callbacks
 *                  then see tables instead of holes)
 * @param lockPtes  take each PTE table's lock around its {@code pteRange} call
 *                  ({@code pte_offset_map_lock}); ignored for init_mm, whose tables have none
 */
public record WalkOptions(boolean install, boolean lockPtes) {
    /** Read or modify existing tables, PTE locks held. */
    public static final WalkOptions LOCKED = new WalkOptions(false, true);
    /** Install missing tables, PTE locks held. */
    public static final WalkOptions INSTALL = new WalkOptions(true, true);
    /** No locks: init_mm, or a caller that excludes everyone else (teardown, single-threaded replay of a dead mm). */
    public static final WalkOptions UNLOCKED = new WalkOptions(false, false);
}
