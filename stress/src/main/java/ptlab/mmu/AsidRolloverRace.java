package ptlab.mmu;

import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Arbiter;
import org.openjdk.jcstress.annotations.Expect;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.I_Result;
import ptlab.cpu.SimCpu;
import ptlab.cpu.ViolationLog;
import ptlab.pgtable.KernelConfig;
import ptlab.pgtable.Mm;
import ptlab.pgtable.MmKind;
import ptlab.pgtable.PageTables;

/**
 * The ASID rollover (Mmu notes, "Rollover") against a CPU switching to an mm whose context the
 * rollover may retire: the Dekker pair of switchMm (publish {@code current}, then read the
 * context's {@code valid}) and the rollover (clear {@code valid}, then read every CPU's
 * {@code current}). Two ASIDs: the CPU runs mm a (ASID 1), mm x holds ASID 2 and runs nowhere,
 * so a context for a new mm y needs a rollover. The CPU switches to x while y's context is
 * made. Afterwards the CPU must run a context that is still x's (not retired) with an ASID
 * that no other live context holds. r1: 0 if so; 1 if the CPU runs a retired context; 2 if its
 * ASID went to y. Package ptlab.mmu: contexts and the ASID limit are package-private.
 */
@JCStressTest
@Outcome(id = "0", expect = Expect.ACCEPTABLE, desc = "the CPU runs x under an ASID of its own")
@Outcome(id = {"1", "2"}, expect = Expect.FORBIDDEN, desc = "the CPU runs a retired context (1), or y got its ASID (2)")
@State
public class AsidRolloverRace {
    private final Mmu mmu;
    private final CpuMmu cpu;
    private final Mm x;
    private final Mm y;

    public AsidRolloverRace() {
        PageTables pt = new PageTables(KernelConfig.defaults().withRam(8L << 20), new ViolationLog(false));
        mmu = new Mmu(pt);
        mmu.setAsidLimit(2);
        Mm a = pt.newMm("a", MmKind.USER);
        x = pt.newMm("x", MmKind.USER);
        y = pt.newMm("y", MmKind.USER);
        cpu = mmu.attach(new SimCpu(0), 1, 1);
        mmu.context(x); // ASID 1, current nowhere
        cpu.switchMm(a); // ASID 2, current on the CPU: the space is full
    }

    @Actor
    public void cpu() {
        cpu.switchMm(x);
    }

    @Actor
    public void newMm() {
        mmu.context(y); // a rollover: only a or x, whichever the CPU runs, may keep its ASID
    }

    @Arbiter
    public void after(I_Result r) {
        MmContext cur = cpu.currentContext();
        MmContext ys = mmu.context(y);
        if (mmu.context(x) != cur) {
            r.r1 = 1;
        } else if (ys.asid == cur.asid) {
            r.r1 = 2;
        } else {
            r.r1 = 0;
        }
    }
}
