package ptlab.kmap;

import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.BlockingDeque;
import java.util.concurrent.LinkedBlockingDeque;
import java.util.concurrent.TimeUnit;
import ptlab.cpu.SimCpu;

/**
 * The online simulated CPUs of a machine and their features. CPU 0 is the boot CPU and is
 * whatever thread calls into the kernel-mapping code; CPUs 1..n-1 become real threads when
 * {@link #start} is called, each running the work submitted to it, one item at a time, and
 * taking stop_machine's stopper work ahead of everything queued.
 */
/*
 * Implementation notes. A queued work item is the CPU's preemption point: stop_machine's
 * stopper is pushed at the head of each CPU's queue and runs as soon as the item in progress
 * returns, as the stopper thread preempts whatever the CPU runs at its next preemption point.
 * The parked flag is written by the CPU's own thread and read by others (volatile).
 */
public final class Cpus implements AutoCloseable {

    /** One online CPU. */
    public static final class Cpu {
        private final SimCpu sim;
        private final Set<CpuFeature> features;
        private final BlockingDeque<Runnable> work = new LinkedBlockingDeque<>();
        private volatile boolean parked;
        private Thread thread;

        Cpu(SimCpu sim, Set<CpuFeature> features) {
            this.sim = sim;
            this.features = Collections.unmodifiableSet(EnumSet.copyOf(features));
        }

        public SimCpu sim() {
            return sim;
        }

        public int id() {
            return sim.id();
        }

        public boolean has(CpuFeature f) {
            return features.contains(f);
        }

        /** Whether the CPU is parked in stop_machine (not touching kernel mappings). */
        public boolean parked() {
            return parked;
        }

        void setParked(boolean p) {
            parked = p;
        }

        /** Queues {@code r} to run on this CPU's thread (CPU 0 has none: call it directly). */
        public void submit(Runnable r) {
            if (thread == null) {
                throw new IllegalStateException("cpu" + id() + " has no thread (boot CPU, or Cpus.start not called)");
            }
            work.addLast(r);
        }

        void submitFirst(Runnable r) {
            work.addFirst(r);
        }

        boolean running() {
            return thread != null;
        }

        @Override
        public String toString() {
            return "cpu" + id() + features;
        }
    }

    private static final Runnable EXIT = () -> {};
    private final List<Cpu> cpus = new ArrayList<>();

    /** {@code n} CPUs; {@code bbml2[i]} says whether CPU i has BBML2_NOABORT (missing: true). */
    public Cpus(int n, boolean... bbml2) {
        if (n < 1) {
            throw new IllegalArgumentException("need at least one CPU: " + n);
        }
        for (int i = 0; i < n; i++) {
            boolean has = i >= bbml2.length || bbml2[i];
            cpus.add(new Cpu(new SimCpu(i), has ? EnumSet.of(CpuFeature.BBML2_NOABORT) : EnumSet.noneOf(CpuFeature.class)));
        }
    }

    /** One boot CPU with BBML2_NOABORT. */
    public static Cpus single() {
        return new Cpus(1);
    }

    public List<Cpu> all() {
        return Collections.unmodifiableList(cpus);
    }

    public Cpu boot() {
        return cpus.get(0);
    }

    public Cpu get(int id) {
        return cpus.get(id);
    }

    /** {@code system_supports_bbml2_noabort()}: every online CPU has it. */
    public boolean systemSupportsBbml2NoAbort() {
        for (Cpu c : cpus) {
            if (!c.has(CpuFeature.BBML2_NOABORT)) {
                return false;
            }
        }
        return true;
    }

    /** Starts a thread for each secondary CPU (1..n-1). */
    public synchronized void start() {
        for (Cpu c : cpus) {
            if (c.id() == 0 || c.thread != null) {
                continue;
            }
            Thread t = new Thread(() -> loop(c), "simcpu" + c.id());
            t.setDaemon(true);
            c.thread = t;
            t.start();
        }
    }

    private static void loop(Cpu c) {
        c.sim().bindCurrentThread();
        while (true) {
            Runnable r;
            try {
                r = c.work.take();
            } catch (InterruptedException e) {
                return;
            }
            if (r == EXIT) {
                return;
            }
            r.run();
        }
    }

    /** Stops the secondary threads after their queued work. */
    @Override
    public synchronized void close() {
        for (Cpu c : cpus) {
            if (c.thread != null) {
                c.work.addLast(EXIT);
                try {
                    c.thread.join(TimeUnit.SECONDS.toMillis(30));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                c.thread = null;
            }
        }
    }
}
