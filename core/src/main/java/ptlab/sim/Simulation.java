package ptlab.sim;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import ptlab.arch.Level;
import ptlab.check.Checker;
import ptlab.cpu.SimCpu;
import ptlab.cpu.Violation;
import ptlab.kmap.Cpus;
import ptlab.kmap.KernelMappings;
import ptlab.kmap.KmapResult;
import ptlab.kmap.LinearMapSplit;
import ptlab.kmap.MemoryHotplug;
import ptlab.mm.Errno;
import ptlab.mm.Kernel;
import ptlab.mm.Process;
import ptlab.pgtable.KernelConfig;
import ptlab.pgtable.PageTables;
import ptlab.pgtable.PtStats;
import ptlab.trace.Replayer;
import ptlab.trace.TraceOp;

/**
 * Runs a scenario ({@link Step}s) on one simulated machine: a {@link Kernel} with its kernel
 * mappings, CPUs as threads, processes, lockless walkers. After every step it samples the
 * page-table memory; the checker runs every {@code checkEvery} steps, at each {@code check}
 * step and at the end. Same seed and scenario, same page tables after every step; what the
 * interleaving of parallel CPUs decides (ctor/dtor counts of lost THP races, flushes, which
 * calls fail under memory pressure) varies as on a real machine (docs/scenario.md).
 */
/*
 * Implementation notes. Steps run on the calling thread as CPU 0; "parallel N" runs the
 * operation on N fresh CPU threads at once (they race to install the same tables); walkers run
 * on their own CPU threads for as long as the scenario says. Kernel-side steps go through
 * ptlab.kmap: boot builds init_mm's linear map, vmalloc and vmemmap; split-linear runs the
 * linear-map split under stop_machine with preallocated tables; hotadd is arch_add_memory
 * with the kernel-half sync.
 */
public final class Simulation {
    private final KernelConfig config;
    private final int cpus;
    private final long seed;
    private final int checkEvery;
    private final Kernel kernel;
    private final PageTables pt;
    private final Map<String, Process> procs = new LinkedHashMap<>();
    private final List<Sample> samples = new ArrayList<>();
    private final List<Violation> violations = new ArrayList<>();
    /** For each violation, the step after which a check first found it (a bad change shows where it bites). */
    private final Map<Violation, String> foundAfter = new HashMap<>();
    /** The step running now, for {@link #foundAfter}. */
    private String currentStep = "start";
    private final List<String> notes = new ArrayList<>();
    private Occupancy peakOccupancy;
    private long peakNr = -1;
    private final Walkers walkers;
    private KernelMappings km;
    /** Why {@code boot} failed (its line and result), or null: the kernel-mapping steps after it cannot run. */
    private String bootFailure;
    private Process current;
    private long splitTables;
    private long hotAdded;
    private int checks;
    private long failedCalls;
    private java.util.EnumSet<Bug> bugs = java.util.EnumSet.noneOf(Bug.class);

    public Simulation(KernelConfig config, int cpus, long seed, int checkEvery) {
        this.config = config;
        this.cpus = cpus;
        this.seed = seed;
        this.checkEvery = checkEvery;
        this.kernel = new Kernel(config);
        // Every free is checked against the walker CPUs' TLBs: a frame freed before its flush
        // is a violation the report counts (the stale-TLB audit only sees completed flushes).
        ptlab.mmu.FreedFrameCheck.install(kernel.mmu(), kernel.pageTables().allocator());
        this.pt = kernel.pageTables();
        this.walkers = new Walkers(kernel, seed);
    }

    public Kernel kernel() {
        return kernel;
    }

    /**
     * Runs with the known bugs {@code bugs} (see {@link Bug}): the switches that live in the
     * page tables and the MMU are set now; hotadd and split-linear read theirs when they run.
     * Call it before {@link #run}.
     */
    public Simulation withBugs(java.util.Set<Bug> bugs) {
        this.bugs = bugs.isEmpty() ? java.util.EnumSet.noneOf(Bug.class) : java.util.EnumSet.copyOf(bugs);
        pt.setRcuDeferral(!this.bugs.contains(Bug.NO_RCU_FREE));
        kernel.mmu().dropNextFlushes(this.bugs.contains(Bug.NO_TLB_FLUSH) ? Integer.MAX_VALUE : 0);
        return this;
    }

    /** Runs every step, then exits the remaining processes, stops the walkers and checks once more. */
    public SimReport run(List<Step> given, Consumer<Integer> progress) {
        // Lists built in code get the checks a parsed scenario passed (a duplicate process name
        // would drop a live process without its exit): "steps:LINE: reason" before anything runs.
        List<Step> steps = ScenarioParser.checkOrder("steps", given);
        long t0 = System.nanoTime();
        SimCpu boot = new SimCpu(0);
        AtomicReference<RuntimeException> failure = new AtomicReference<>();
        boot.runAs(() -> {
            try {
                sample(0, "start");
                int i = 0;
                for (Step s : steps) {
                    currentStep = "line " + s.line() + " (" + label(s) + ")";
                    try {
                        step(s);
                    } catch (ptlab.phys.OutOfMemoryException e) {
                        // A process or a named child the later steps need could not be made: the
                        // scenario cannot go on. Its line, and the knob that helps, in one line.
                        throw new SimulationException("line " + s.line() + ": '" + label(s) + "': " + e.getMessage()
                                + ": the simulated RAM (" + (config.ramBytes() >> 20) + " MiB) is used up; give more with --ram");
                    }
                    i++;
                    sample(s.line(), label(s));
                    if (checkEvery > 0 && i % checkEvery == 0) {
                        check();
                    }
                    progress.accept(i);
                }
                currentStep = "end of run";
                walkers.stop();
                for (Process p : new ArrayList<>(procs.values())) {
                    p.exit();
                }
                procs.clear();
                sample(0, "end");
                check();
            } catch (RuntimeException e) {
                failure.set(e);
                // The run ends here: the processes it made exit, so the machine holds no tables.
                walkers.stop();
                for (Process p : new ArrayList<>(procs.values())) {
                    try {
                        if (!p.exited()) {
                            p.exit();
                        }
                    } catch (RuntimeException second) {
                        e.addSuppressed(second);
                    }
                }
                procs.clear();
            } finally {
                walkers.stop();
                if (km != null) {
                    km.cpus().close();
                }
            }
        });
        if (failure.get() != null) {
            RuntimeException f = failure.get();
            if (!violations.isEmpty()) {
                // What the checker found before the failure is usually its cause: say so, since
                // the report that would have listed it is not made.
                throw new SimulationException(f.getMessage() + " (after " + violations.size() + " checker violation(s); the first: "
                        + violations.get(0) + ")", f);
            }
            throw f;
        }
        return new SimReport(config, cpus, seed, samples, peakOccupancy, violations, Map.copyOf(foundAfter), notes, stats(), (System.nanoTime() - t0) / 1_000_000);
    }

    private void step(Step s) {
        if (s instanceof Step.Boot) {
            km = new KernelMappings(kernel, new Cpus(Math.max(1, cpus), bbml2()), false);
            km.cpus().start();
            KmapResult booted = km.boot();
            expect(booted, s);
            if (!booted.ok()) {
                bootFailure = "line " + s.line() + ": " + booted;
            }
        } else if (s instanceof Step.SplitLinear) {
            needBoot(s);
            Step.SplitLinear sl = (Step.SplitLinear) s;
            long before = pt.stats().nrPagetable();
            if (sl.len() == 0) {
                LinearMapSplit split = new LinearMapSplit(km);
                if (bugs.contains(Bug.NO_SPLIT_FLUSH)) {
                    split.omitFlush();
                }
                LinearMapSplit.Outcome o = split.run(LinearMapSplit.Mode.PREALLOCATED, true);
                expect(o.result(), s);
            } else {
                long ramEnd = km.ramEnd();
                if (Long.compareUnsigned(sl.offset(), ramEnd) >= 0 || Long.compareUnsigned(sl.len(), ramEnd - sl.offset()) > 0) {
                    throw new SimulationException("line " + s.line() + ": split-linear range 0x" + Long.toHexString(sl.offset()) + " + 0x"
                            + Long.toHexString(sl.len()) + " is not inside RAM (0x" + Long.toHexString(ramEnd) + " bytes)");
                }
                long start = km.layout().linearVa(sl.offset());
                expect(km.splitKernelLeafMapping(start, start + sl.len()), s);
            }
            splitTables += pt.stats().nrPagetable() - before;
        } else if (s instanceof Step.HotAdd) {
            needBoot(s);
            MemoryHotplug h = new MemoryHotplug(km);
            long asked = ((Step.HotAdd) s).size();
            long size = (asked + h.granule() - 1) & -h.granule();
            if (asked <= 0 || size <= 0) {
                throw new SimulationException("line " + s.line() + ": hotadd of 0x" + Long.toHexString(asked)
                        + " bytes: not a size that whole memory blocks of " + (h.granule() >> 20) + " MiB can hold");
            }
            long start = (km.ramEnd() + h.granule() - 1) & -h.granule();
            if (((Step.HotAdd) s).far()) {
                long span = pt.geometry().entrySize(pt.geometry().root());
                start = (km.ramEnd() + span - 1) & -span;
            }
            KmapResult r = h.addMemory(start, size, bugs.contains(Bug.NO_KERNEL_SYNC) ? MemoryHotplug.Order.NO_SYNC : MemoryHotplug.Order.FIXED);
            expect(r, s);
            if (r.ok()) {
                hotAdded += size;
            }
        } else if (s instanceof Step.Walkers) {
            walkers.set(((Step.Walkers) s).count(), procs);
        } else if (s instanceof Step.NewProcess) {
            current = kernel.newProcess(((Step.NewProcess) s).name());
            procs.put(((Step.NewProcess) s).name(), current);
            walkers.processesChanged(procs);
        } else if (s instanceof Step.Use) {
            current = procs.get(((Step.Use) s).name());
        } else if (s instanceof Step.Exit) {
            Process p = procs.remove(((Step.Exit) s).name());
            walkers.processesChanged(procs);
            p.exit();
            if (p == current) {
                current = null;
            }
        } else if (s instanceof Step.Fork) {
            String name = ((Step.Fork) s).child();
            procs.put(name, current.fork(name));
            walkers.processesChanged(procs);
        } else if (s instanceof Step.Trace) {
            TraceOp op = ((Step.Trace) s).op();
            if (op instanceof TraceOp.Fork) {
                try {
                    current.fork(current.mm().name() + "-child").exit();
                } catch (ptlab.phys.OutOfMemoryException e) {
                    refused(s, Errno.ENOMEM); // the child exits at once, so no later step needs it
                }
            } else {
                Errno e = Replayer.apply(current, op);
                if (!e.ok()) {
                    refused(s, e);
                }
            }
        } else if (s instanceof Step.Parallel) {
            parallel((Step.Parallel) s);
        } else if (s instanceof Step.Check) {
            check();
        }
    }

    /** CPUs 1 and up lack BBML2_NOABORT, so the linear map must be split before it can change (arm64's case). */
    private static boolean[] bbml2() {
        return new boolean[] {true, false};
    }

    private void parallel(Step.Parallel s) {
        List<Thread> ts = new ArrayList<>();
        AtomicReference<Throwable> err = new AtomicReference<>();
        Process p = current;
        Errno[] results = new Errno[s.cpus()];
        for (int c = 0; c < s.cpus(); c++) {
            int cpuIndex = c;
            SimCpu cpu = new SimCpu(100 + c);
            Thread t = new Thread(() -> cpu.runAs(() -> {
                try {
                    results[cpuIndex] = Replayer.apply(p, s.op());
                } catch (Throwable x) {
                    err.compareAndSet(null, x);
                }
            }), "sim-cpu" + (100 + c));
            ts.add(t);
            t.start();
        }
        for (Thread t : ts) {
            try {
                t.join();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted", e);
            }
        }
        if (err.get() != null) {
            throw new IllegalStateException("line " + s.line() + ": a CPU failed: " + err.get(), err.get());
        }
        // One note per errno, with how many CPUs got it: which CPU wins a race varies from run
        // to run, so a note does not name one (how many lose can vary too, under memory pressure).
        for (Errno e : Errno.values()) {
            int n = 0;
            for (Errno r : results) {
                n += r == e && !e.ok() ? 1 : 0;
            }
            failedCalls += n;
            if (n > 0) {
                notes.add("line " + s.line() + " " + label(s) + ": " + e + " (errno " + e.code() + ") on " + n + " of " + results.length + " CPUs");
            }
        }
    }

    /** A call the kernel refused: counted, and listed in the report's notes with its errno. */
    private void refused(Step s, Errno e) {
        failedCalls++;
        notes.add("line " + s.line() + " " + label(s) + ": " + e + " (errno " + e.code() + ")");
    }

    private void needBoot(Step s) {
        if (km == null) {
            throw new SimulationException("line " + s.line() + ": '" + label(s) + "' needs 'boot' first");
        }
        if (bootFailure != null) {
            throw new SimulationException("line " + s.line() + ": '" + label(s) + "' needs kernel mappings, but boot failed (" + bootFailure + ")");
        }
    }

    private void expect(KmapResult r, Step s) {
        if (!r.ok()) {
            notes.add("line " + s.line() + " " + label(s) + ": " + r);
        }
    }

    /** The checker; the memory model's reports (use-after-free, might-sleep) come with it, each kept once. */
    private void check() {
        checks++;
        List<Violation> found = walkers.quiesced(() -> {
            List<Violation> all = new ArrayList<>(kernel.mmu().audit()); // stale TLB entries after completed flushes
            all.addAll(kernel.auditPageRefs()); // data-folio references (walkers only read: no page changes hands)
            all.addAll(walkers.running() ? Checker.check(pt) : Checker.checkDrained(pt)); // drained: rcu_barrier first
            return all;
        });
        for (Violation v : found) {
            if (foundAfter.putIfAbsent(v, currentStep) == null) { // each kept once, with the step that first showed it
                violations.add(v);
            }
        }
    }

    /**
     * Samples after {@code rcu_barrier}: tables unhooked by the step are freed only after a grace
     * period, and without the barrier a sample would count some of them depending on timing.
     */
    private void sample(int line, String label) {
        pt.rcuBarrier();
        PtStats st = pt.stats();
        long[] t = new long[Level.values().length];
        for (Level l : Level.values()) {
            t[l.ordinal()] = st.liveTables(l);
        }
        long vm = 0;
        for (Process p : procs.values()) {
            vm += p.vmPteBytes();
        }
        samples.add(new Sample(line, label, t, st.nrPagetable(), vm));
        if (st.nrPagetable() > peakNr && !walkers.running()) {
            peakNr = st.nrPagetable();
            peakOccupancy = Occupancy.of(pt);
        } else if (st.nrPagetable() > peakNr) {
            peakNr = st.nrPagetable();
            peakOccupancy = walkers.quiesced(() -> Occupancy.of(pt));
        }
    }

    /** The step's keyword as the scenario spells it ({@code process}, {@code split-linear}, {@code parallel touch}). */
    static String label(Step s) {
        if (s instanceof Step.Trace) {
            return opName(((Step.Trace) s).op());
        }
        if (s instanceof Step.Parallel) {
            return "parallel " + opName(((Step.Parallel) s).op());
        }
        if (s instanceof Step.NewProcess) {
            return "process";
        }
        if (s instanceof Step.SplitLinear) {
            return "split-linear";
        }
        return s.getClass().getSimpleName().toLowerCase(java.util.Locale.ROOT); // boot, hotadd, walkers, use, exit, fork, check
    }

    private static String opName(ptlab.trace.TraceOp op) {
        return op.getClass().getSimpleName().toLowerCase(java.util.Locale.ROOT);
    }

    private SimReport.Counters stats() {
        PtStats st = pt.stats();
        long ctors = 0;
        long dtors = 0;
        for (Level l : Level.values()) {
            ctors += st.ctorCalls(l);
            dtors += st.dtorCalls(l);
        }
        return new SimReport.Counters(ctors, dtors, st.dynamicPtlockAllocs(), st.ptlockInits(), st.syncCalls(), st.syncCopies(),
                st.installRacesLost(), splitTables, hotAdded, kernel.tlbFlushes(), kernel.mmu().shootdowns(), walkers.walks(),
                walkers.retries(), walkers.translations(), walkers.gracePeriods(), checks, failedCalls);
    }
}
