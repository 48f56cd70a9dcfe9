package ptlab.mmu;

import ptlab.pgtable.Mm;

/**
 * The MMU layer's per-mm state (the arch part of {@code mm_context_t}): the ASID every TLB
 * entry of this mm is tagged with. A context keeps its ASID for life; an ASID rollover
 * retires the contexts no CPU has current, and their mms get new ones at their next
 * switch_mm (see Mmu's notes).
 */
final class MmContext {
    final Mm mm;
    final int asid;
    /**
     * False once a rollover retired this context: a CPU that published it as current and
     * then reads false takes a new one (the Dekker pair with the rollover's read of every
     * CPU's current, both volatile).
     */
    volatile boolean valid = true;

    MmContext(Mm mm, int asid) {
        this.mm = mm;
        this.asid = asid;
    }
}
