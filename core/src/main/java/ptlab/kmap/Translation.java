package ptlab.kmap;

import ptlab.arch.Level;
import ptlab.arch.PageProt;

/** What a hardware walk of one address finds: a mapping, or a fault at some level. */
public sealed interface Translation permits Translation.Mapped, Translation.Fault {

    /** {@code va} maps to {@code pa} through a leaf at {@code level}. */
    record Mapped(long pa, Level level, PageProt prot) implements Translation {}

    /** No valid entry at {@code level}. */
    record Fault(Level level) implements Translation {}
}
