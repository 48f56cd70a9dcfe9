package ptlab.walk;

import ptlab.arch.Level;
import ptlab.pgtable.Mm;
import ptlab.pgtable.PageTables;
import ptlab.phys.PageDesc;

/**
 * Where the walk stands when a callback runs: the entry at {@code table[index]} of run-time
 * level {@code level}, spanning {@code [addr, end)}, and the value {@code entry} read just
 * before the call. The cursor is reused; it is valid only during the callback.
 */
public final class WalkCursor {
    /** Only the walker creates cursors. */
    WalkCursor() {}

    Mm mm;
    Level level;
    long addr;
    long end;
    PageDesc table;
    int index;
    long entry;
    /** Free slot for the ops (like {@code walk->private}). */
    public Object priv;

    void at(Level level, long addr, long end, PageDesc table, int index, long entry) {
        this.level = level;
        this.addr = addr;
        this.end = end;
        this.table = table;
        this.index = index;
        this.entry = entry;
    }

    public Mm mm() {
        return mm;
    }

    public Level level() {
        return level;
    }

    public long addr() {
        return addr;
    }

    public long end() {
        return end;
    }

    public PageDesc table() {
        return table;
    }

    public int index() {
        return index;
    }

    /** The entry as read before the callback. */
    public long entry() {
        return entry;
    }

    /** Reads the entry again (acquire). */
    public long reread() {
        return PageTables.read(table, index);
    }

    /** Writes the entry (release). The caller holds the lock that guards it. */
    public void write(long value) {
        PageTables.write(table, index, value);
        entry = value;
    }
}
