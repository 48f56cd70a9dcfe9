package ptlab.pgtable;

import java.util.function.LongUnaryOperator;
import ptlab.arch.PteFormat;
import ptlab.phys.Words;

/**
 * Read-modify-write of live entries that the MMU may update concurrently, as the kernel's
 * {@code ptep_set_wrprotect} / {@code pmdp_set_wrprotect} / {@code change_huge_pmd} do them:
 * the caller holds the entry's lock, so only a hardware accessed/dirty update can race, and it
 * must not be lost.
 */
/*
 * Implementation notes. x86 clears the write bit with an atomic clear_bit, arm64 and RISC-V
 * with a cmpxchg loop; both keep an A or D the MMU set after the caller's read. A plain store
 * of (value read, write bit cleared) drops it: a written page then looks clean
 * (ProtectDirtyRaceTest). When the format says the MMU can no longer change the word
 * (PteFormat.hardwareMayUpdate: A and D set, or never writable), one release store is enough.
 */
public final class EntryUpdates {
    private EntryUpdates() {}

    /**
     * {@code ptep_set_wrprotect} on word {@code index} of {@code words}, whose value the caller
     * read as {@code e}; returns the write-protected value now stored.
     */
    public static long setWrprotect(PteFormat fmt, long[] words, int index, long e) {
        return update(fmt, words, index, e, fmt::wrprotect);
    }

    /**
     * Replaces word {@code index} (read by the caller as {@code e}) with {@code change} applied
     * to its current value, atomically with respect to the MMU's accessed/dirty updates:
     * {@code change} may be applied again to a value the MMU changed meanwhile, so it must be a
     * pure function of the entry. Returns the value stored.
     */
    public static long update(PteFormat fmt, long[] words, int index, long e, LongUnaryOperator change) {
        if (!fmt.hardwareMayUpdate(e)) {
            long ne = change.applyAsLong(e);
            Words.setRelease(words, index, ne);
            return ne;
        }
        while (true) {
            long ne = change.applyAsLong(e);
            long witness = Words.compareAndExchange(words, index, e, ne);
            if (witness == e) {
                return ne;
            }
            e = witness;
        }
    }
}
