package ptlab.mmu;

import java.util.concurrent.atomic.AtomicInteger;
import ptlab.pgtable.Mm;

/**
 * The MMU layer's per-mm state (the arch part of {@code mm_context_t}): the ASID every TLB
 * entry of this mm is tagged with, and {@code tlb_flush_pending}, raised while an
 * {@link TlbGather} of the mm is open.
 */
final class MmContext {
    final Mm mm;
    final int asid;
    final AtomicInteger flushPending = new AtomicInteger();

    MmContext(Mm mm, int asid) {
        this.mm = mm;
        this.asid = asid;
    }
}
