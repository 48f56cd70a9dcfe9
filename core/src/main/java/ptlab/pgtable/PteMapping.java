package ptlab.pgtable;

import ptlab.cpu.SimCpu;
import ptlab.cpu.SpinLock;
import ptlab.phys.PageDesc;
import ptlab.phys.Words;
import ptlab.rcu.RcuReaders;

/**
 * What the {@code pte_offset_map} family returns: a mapped PTE table, or the typed reason
 * there is none. Callers must handle {@link NoTable} (Linux: a NULL return; faults retry,
 * {@code zap_pte_range} returns, walkers set {@code ACTION_AGAIN}).
 */
public sealed interface PteMapping permits PteMapping.Mapped, PteMapping.NoTable {

    /** Why there was no PTE table behind the PMD snapshot. */
    enum Why {
        /** {@code pmd_none}. */
        NONE,
        /** {@code pmd_trans_huge} (or any leaf): a huge mapping. */
        HUGE,
        /** Non-present and not none: a migration entry or similar. */
        NOT_PRESENT,
        /** {@code pmd_bad}: reported and left for {@code pmd_clear_bad}'s caller. */
        BAD
    }

    /** No table; {@code pmdval} is the snapshot that said so. */
    record NoTable(Why why, long pmdval) implements PteMapping {}

    /** Which member of the family produced a mapping (the kernel name is the reader's name in reports). */
    enum Kind {
        MAP("pte_offset_map"),
        MAP_LOCK("pte_offset_map_lock"),
        RO_NOLOCK("pte_offset_map_ro_nolock"),
        RW_NOLOCK("pte_offset_map_rw_nolock"),
        KERNEL("pte_offset_kernel");

        final String kernelName;

        Kind(String kernelName) {
            this.kernelName = kernelName;
        }
    }

    /**
     * A mapped PTE table: inside an RCU read section (except {@code pte_offset_kernel}), with
     * the PTE lock held for {@code pte_offset_map_lock}. {@link #close()} is {@code pte_unmap} /
     * {@code pte_unmap_unlock}. Reads report a use-after-free if the table was freed since it
     * was mapped; writes need the lock and a passed {@code pmd_same} recheck, and report a
     * {@code pmd-recheck} violation if the PMD no longer points here.
     *
     * <p>Used by one CPU only, between map and close.
     */
    final class Mapped implements PteMapping, AutoCloseable {
        private final PteMaps maps;
        private final Kind kind;
        private final Mm mm;
        private final PageDesc pmdTable;
        private final int pmdIdx;
        private final long pmdval;
        private final PageDesc table;
        private final int generation;
        private final SpinLock ptl;
        private boolean locked;
        private boolean writable;
        private boolean closed;

        Mapped(PteMaps maps, Kind kind, Mm mm, PageDesc pmdTable, int pmdIdx, long pmdval, PageDesc table, int generation,
                SpinLock ptl) {
            this.maps = maps;
            this.kind = kind;
            this.mm = mm;
            this.pmdTable = pmdTable;
            this.pmdIdx = pmdIdx;
            this.pmdval = pmdval;
            this.table = table;
            this.generation = generation;
            this.ptl = ptl;
        }

        /** The PTE table. */
        public PageDesc table() {
            return table;
        }

        /** The PMD value the table was found through ({@code pmdval} out-parameter). */
        public long pmdval() {
            return pmdval;
        }

        /** {@code *ptlp}: the PTE lock of the table ({@code null} for init_mm tables). */
        public SpinLock ptl() {
            return ptl;
        }

        public boolean locked() {
            return locked;
        }

        public Kind kind() {
            return kind;
        }

        private String reader() {
            return kind.kernelName + " on " + SimCpu.current();
        }

        /** {@code ptep_get_lockless(pte + idx)}: acquire load with the use-after-free check. */
        public long read(int idx) {
            checkOpen();
            long v = Words.getAcquire(table.words(), idx);
            // The reader's name is built only when there is something to report.
            if (table.poisoned() || v == PageDesc.POISON || table.generation() != generation) {
                maps.pt.memory().readWord(table, idx, reader(), generation); // records the use-after-free, naming the reader
            }
            return v;
        }

        /**
         * For {@code rw_nolock}: take the PTE lock and recheck {@code pmd_same}. On success the
         * mapping is writable; on failure the lock is dropped again and the caller must
         * {@link #close()} and retry (the table was detached or replaced).
         */
        public boolean lockAndRecheck() {
            checkOpen();
            if (kind != Kind.RW_NOLOCK) {
                throw new IllegalStateException(kind.kernelName + " cannot be locked afterwards; use pte_offset_map_rw_nolock");
            }
            ptl.lock();
            locked = true;
            if (maps.pmdSame(this)) {
                writable = true;
                return true;
            }
            ptl.unlock();
            locked = false;
            return false;
        }

        boolean recheck() {
            return pmdSameNow();
        }

        void markLocked() {
            locked = true;
            writable = true;
        }

        /** Whether the PMD still holds the value this table was mapped through ({@code pmd_same}). */
        public boolean pmdSameNow() {
            return PageTables.read(pmdTable, pmdIdx) == pmdval;
        }

        /** {@code set_pte_at}: release store under the PTE lock. */
        public void write(int idx, long value) {
            checkWrite();
            Words.setRelease(table.words(), idx, value);
        }

        /**
         * {@code set_ptes}-like: {@link #write} of {@code values[from..from + n)} to entries
         * {@code idx..idx + n}, with the lock and {@code pmd_same} checked once before the run
         * and once after it: the lock is held throughout, so what holds at both ends held for
         * each store. For a fault that fills a run of entries of one table.
         */
        /*
         * Checking once per run instead of per entry: the lock assertion (the CPU's held-lock
         * stack, through a ThreadLocal) was as costly as the page allocation in the 4 GiB write
         * touch of tools/traces/big-4g.trace (perf: checkWrite 4.9% of the warm replay's
         * samples, rmqueue 5.1%).
         */
        public void writeRun(int idx, long[] values, int from, int n) {
            if (n == 0) {
                return;
            }
            checkWrite();
            long[] w = table.words();
            for (int i = 0; i < n; i++) {
                Words.setRelease(w, idx + i, values[from + i]);
            }
            checkWrite();
        }

        /** {@code ptep_get_and_clear}: atomic exchange under the PTE lock. */
        public long getAndClear(int idx) {
            checkWrite();
            return Words.getAndSet(table.words(), idx, 0L);
        }

        private void checkWrite() {
            checkOpen();
            if (!writable || !locked) {
                throw new IllegalStateException(kind.kernelName + ": write to a PTE table without the PTE lock and a pmd_same recheck");
            }
            if (ptl != null) {
                ptl.assertHeld();
            }
            // Invariant 9: whoever changes a PMD from this table holds this table's PTE lock (or
            // excludes us by mmap_lock), so under our lock the PMD must still point here.
            if (!pmdSameNow()) {
                maps.pt.log().record("pmd-recheck", reader() + " wrote a PTE of table pfn 0x" + Long.toHexString(table.pfn()) + " of "
                        + mm + " that its PMD no longer points to (snapshot 0x" + Long.toHexString(pmdval) + ", now 0x"
                        + Long.toHexString(PageTables.read(pmdTable, pmdIdx)) + ")");
            }
        }

        private void checkOpen() {
            if (closed) {
                throw new IllegalStateException(kind.kernelName + ": use of a PTE mapping after pte_unmap");
            }
        }

        /** {@code pte_unmap_unlock} / {@code pte_unmap}: drops the PTE lock if held, then the RCU read section. */
        @Override
        public void close() {
            if (closed) {
                return;
            }
            closed = true;
            try {
                if (locked) {
                    locked = false;
                    ptl.unlock();
                }
            } finally {
                if (kind != Kind.KERNEL) {
                    RcuReaders.readUnlock(); // even if the unlock threw: never leave the CPU in the section
                }
            }
        }
    }
}
