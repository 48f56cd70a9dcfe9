package ptlab.pgtable;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Tier 2: exhaustive model checking of the {@code pte_offset_map_lock} protocol against
 * {@code retract_page_tables} (the same steps as {@link PteMaps#mapLock} and
 * {@link Retraction#retract}, one atomic step per shared access). Every interleaving of one
 * mapper (rcu_read_lock, snapshot the PMD, lock the snapshot's ptl, recheck, write a PTE,
 * unlock, rcu_read_unlock; retry on a failed recheck) with one retractor (pml, ptl, clear the
 * PMD, unlock, call_rcu, wait for the grace period, free) and an installer that puts a new
 * table in afterwards is explored. Safety: the mapper never writes into a detached table and
 * never touches a freed one. The negative controls drop the recheck or the grace period and
 * must find a counterexample.
 */
class MapLockProtocolModelTest {
    /** PMD values: 0 none, 1 table T1 (the old one), 2 table T2 (installed after retraction). */
    private static final class State {
        int pmd = 1;
        boolean[] freed = new boolean[3];
        int[] ptlOwner = {0, 0, 0}; // 0 free, 1 mapper, 2 retractor
        int pmlOwner;
        // mapper
        int mPc;
        int snap;
        boolean mInRcu;
        int retries;
        // retractor
        int rPc;
        int rTable;
        boolean rcuStartedWithMapperInside;
        // installer
        int iPc;

        State copy() {
            State s = new State();
            s.pmd = pmd;
            s.freed = freed.clone();
            s.ptlOwner = ptlOwner.clone();
            s.pmlOwner = pmlOwner;
            s.mPc = mPc;
            s.snap = snap;
            s.mInRcu = mInRcu;
            s.retries = retries;
            s.rPc = rPc;
            s.rTable = rTable;
            s.rcuStartedWithMapperInside = rcuStartedWithMapperInside;
            s.iPc = iPc;
            return s;
        }
    }

    private boolean recheck;
    private boolean rcu;
    private final List<String> bad = new ArrayList<>();
    private long states;

    /** Mapper step; returns null if blocked or done. */
    private State mapper(State s) {
        State n = s.copy();
        switch (s.mPc) {
            case 0 -> { n.mInRcu = true; n.mPc = 1; } // rcu_read_lock
            case 1 -> { // snapshot pmdp_get_lockless
                n.snap = s.pmd;
                n.mPc = s.pmd == 0 ? 6 : 2; // none: NoTable -> unmap and give up
            }
            case 2 -> { // spin_lock(pte_lockptr(snapshot))
                if (s.freed[s.snap]) {
                    bad.add("mapper took the ptl of freed table T" + s.snap);
                }
                if (s.ptlOwner[s.snap] != 0) {
                    return null;
                }
                n.ptlOwner[s.snap] = 1;
                n.mPc = 3;
            }
            case 3 -> { // pmd_same recheck
                if (!recheck || s.pmd == s.snap) {
                    n.mPc = 4;
                } else {
                    n.ptlOwner[s.snap] = 0;
                    n.mInRcu = false;
                    n.retries++;
                    n.mPc = s.retries < 2 ? 0 : 7; // retry (bounded: the model has finitely many PMD changes)
                }
            }
            case 4 -> { // set_pte_at into the table
                if (s.freed[s.snap]) {
                    bad.add("mapper wrote into freed table T" + s.snap);
                }
                if (s.pmd != s.snap) {
                    bad.add("mapper wrote into T" + s.snap + " which the PMD no longer points to (pmd=" + s.pmd + ")");
                }
                n.mPc = 5;
            }
            case 5 -> { n.ptlOwner[s.snap] = 0; n.mPc = 6; } // spin_unlock
            case 6 -> { n.mInRcu = false; n.mPc = 7; } // rcu_read_unlock
            default -> { return null; }
        }
        return n;
    }

    private State retractor(State s) {
        State n = s.copy();
        switch (s.rPc) {
            case 0 -> { if (s.pmlOwner != 0) { return null; } n.pmlOwner = 2; n.rPc = 1; }
            case 1 -> { // check_pmd_state + take the ptl of the table found
                if (s.pmd == 0) {
                    n.pmlOwner = 0;
                    n.rPc = 9;
                    return n;
                }
                if (s.ptlOwner[s.pmd] != 0) {
                    return null;
                }
                n.rTable = s.pmd;
                n.ptlOwner[s.pmd] = 2;
                n.rPc = 2;
            }
            case 2 -> { n.pmd = 0; n.rPc = 3; } // pmdp_collapse_flush
            case 3 -> { n.ptlOwner[s.rTable] = 0; n.pmlOwner = 0; n.rPc = 4; }
            case 4 -> { n.rcuStartedWithMapperInside = s.mInRcu; n.rPc = 5; } // call_rcu: the grace period starts
            case 5 -> { // wait for the grace period: readers present at its start must have left
                if (rcu && s.rcuStartedWithMapperInside && s.mInRcu) {
                    return null;
                }
                n.rPc = 6;
            }
            case 6 -> { n.freed[s.rTable] = true; n.rPc = 9; } // pte_free
            default -> { return null; }
        }
        return n;
    }

    /** After the retraction cleared the PMD, a fault installs a fresh table T2 under pml. */
    private State installer(State s) {
        if (s.iPc != 0 || s.pmd != 0 || s.rPc < 3 || s.pmlOwner != 0) {
            return null;
        }
        State n = s.copy();
        n.pmd = 2;
        n.iPc = 1;
        return n;
    }

    private void explore(State s, int depth) {
        states++;
        State a = mapper(s);
        State b = retractor(s);
        State c = installer(s);
        if (a != null) {
            explore(a, depth + 1);
        }
        if (b != null) {
            explore(b, depth + 1);
        }
        if (c != null) {
            explore(c, depth + 1);
        }
    }

    private List<String> run(boolean withRecheck, boolean withRcu) {
        recheck = withRecheck;
        rcu = withRcu;
        bad.clear();
        states = 0;
        explore(new State(), 0);
        return new ArrayList<>(bad);
    }

    @Test
    void everyInterleavingIsSafe() {
        assertThat(run(true, true)).isEmpty();
        System.out.println("map->lock->recheck model: " + states + " states explored, no violation");
        assertThat(states).isGreaterThan(100);
    }

    @Test
    void withoutRecheckTheModelFindsAWriteIntoADetachedTable() {
        assertThat(run(false, true)).anyMatch(m -> m.contains("no longer points"));
    }

    @Test
    void withoutGracePeriodTheModelFindsAUseAfterFree() {
        assertThat(run(true, false)).anyMatch(m -> m.contains("freed table"));
    }
}
