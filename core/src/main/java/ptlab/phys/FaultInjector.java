package ptlab.phys;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.SplittableRandom;

/**
 * {@code fail_page_alloc} for simulated memory: fail the Nth allocation from now, every
 * allocation at a named site, or each allocation with a seeded probability. Only allocations
 * that name a site (page-table and kernel allocations) are candidates when a site filter is
 * set; counting ({@link #allocationsSeen}) covers all of them, so a test can first count the
 * allocations of an operation ({@link #count}) and then sweep the Nth allocation over them.
 *
 * <p>Sites are named after the kernel function that allocates: {@code alloc_pte},
 * {@code alloc_pmd}, ... for page tables installed on demand ({@code __pte_alloc} and friends),
 * {@code pgd_alloc}, {@code pte_alloc_one} (THP deposits), {@code ptlock_alloc},
 * {@code do_anonymous_page}, {@code vma_alloc_anon_folio_pmd} and more; {@link #sitesSeen}
 * lists those an operation reached, so that a site filter is not a guess that matches nothing.
 */
public final class FaultInjector {
    /** An injector that fails nothing until armed. */
    public FaultInjector() {}

    private long failAt = -1;
    private long seen;
    private String site;
    private double probability;
    private SplittableRandom random;
    private long injected;
    /** Sites asked about while armed, in first-seen order. */
    private final LinkedHashSet<String> sites = new LinkedHashSet<>();
    /** Fast-path gate: false while no rule is set, so unarmed allocations pay one volatile read. */
    private volatile boolean armed;

    /** Counts allocations ({@link #allocationsSeen}, {@link #sitesSeen}) and fails none: the first pass of a sweep. */
    public synchronized FaultInjector count() {
        armed = true;
        return this;
    }

    /** Fail the {@code n}th allocation from now (1 = the next one), once. */
    public synchronized FaultInjector failNth(long n) {
        if (n < 1) {
            throw new IllegalArgumentException("n must be >= 1: " + n);
        }
        failAt = seen + n;
        armed = true;
        return this;
    }

    /** Fail every allocation whose site name equals {@code site}. */
    public synchronized FaultInjector failSite(String site) {
        this.site = Objects.requireNonNull(site);
        armed = true;
        return this;
    }

    /** Fail each allocation with probability {@code p}, reproducibly from {@code seed}. */
    public synchronized FaultInjector failRandomly(double p, long seed) {
        if (p < 0 || p > 1) {
            throw new IllegalArgumentException("probability must be in [0,1]: " + p);
        }
        this.probability = p;
        this.random = new SplittableRandom(seed);
        armed = true;
        return this;
    }

    /** Stops injecting. */
    public synchronized void reset() {
        failAt = -1;
        site = null;
        probability = 0;
        random = null;
        armed = false;
    }

    /** Number of allocations the injector has been asked about while armed. */
    public synchronized long allocationsSeen() {
        return seen;
    }

    /** The site names of the allocations asked about while armed, each once, in first-seen order. */
    public synchronized List<String> sitesSeen() {
        return new ArrayList<>(sites);
    }

    public synchronized long injectedFailures() {
        return injected;
    }

    /** Whether any rule is set (one volatile read): unarmed, {@link #shouldFail} is always false. */
    boolean armed() {
        return armed;
    }

    public boolean shouldFail(String allocSite) {
        return armed && decide(allocSite);
    }

    private synchronized boolean decide(String allocSite) {
        seen++;
        if (allocSite != null) {
            sites.add(allocSite);
        }
        boolean fail = seen == failAt
                || (site != null && site.equals(allocSite))
                || (random != null && random.nextDouble() < probability);
        if (fail) {
            injected++;
        }
        return fail;
    }
}
