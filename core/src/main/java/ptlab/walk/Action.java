package ptlab.walk;

/** What a walk callback asks the engine to do next ({@code walk->action} and return codes of {@code mm/pagewalk.c}). */
public enum Action {
    /** Go on: descend into a table entry's subtree, or move to the next entry. ({@code ACTION_SUBTREE}) */
    CONTINUE,
    /** Do not descend into this table entry. ({@code ACTION_CONTINUE}) */
    SKIP_SUBTREE,
    /** Re-read the entry and call again, e.g. after a split or a failed {@code pte_offset_map_lock}. ({@code ACTION_AGAIN}) */
    AGAIN,
    /** End the walk now (a positive return code). */
    STOP
}
