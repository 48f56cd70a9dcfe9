package ptlab.mm;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import ptlab.arch.Level;
import ptlab.cpu.Violation;
import ptlab.phys.PageDesc;
import ptlab.phys.PhysicalMemory;
import ptlab.walk.Action;
import ptlab.walk.WalkCursor;
import ptlab.walk.WalkOps;
import ptlab.walk.WalkOptions;

/**
 * The data-folio reference audit ({@link Kernel#auditPageRefs}): every data folio's reference
 * count must equal the references the model gives it, and no data folio may be allocated
 * with none. The references are those of {@link Pages} and {@link Shmem}: one per present
 * leaf entry mapping a page of the folio in a VMA of a live process (a PTE, or a huge PMD
 * mapping the whole folio), one for the page cache while a shmem file holds the folio. The
 * zero pages are never counted. Linux checks the same things piecemeal: {@code bad_page()}
 * on a mapped page freed ({@code page_mapcount} non-zero at free), {@code
 * VM_BUG_ON_FOLIO(folio_ref_count(folio) == 0)} on a get of a free folio; a leaked folio (a
 * reference never put) shows there only as memory that never comes back.
 *
 * <p>Violations, recorded in the kernel's log as {@code page-ref}:
 * <ul>
 *   <li>a leaf maps a frame that is free, a live page table, or not movable user memory;</li>
 *   <li>a mapped or cached folio's count differs from its references (a get or put too many);</li>
 *   <li>a movable (user data) folio is allocated but nothing maps or caches it (a put missed).</li>
 * </ul>
 */
/*
 * Implementation notes. Run at a quiescent point only (no operation in flight, no gather
 * open): it takes no locks and reads entries with acquire loads, like the Checker. Only
 * leaves inside VMAs count: PageRanges' raw mappings (remap_pfn_range style, VM_PFNMAP in
 * Linux: no struct page references) are outside the VMA layer. Data folios are found by the
 * allocator's per-block movable flag (GFP_HIGHUSER_MOVABLE): kernel allocations (vmalloc
 * pages, tables, the zero pages) are not movable and are not this audit's business.
 */
final class PageRefAudit implements WalkOps {
    private final Kernel k;
    private final PhysicalMemory mem;
    /** Folio head pfn -> references found. */
    private final Map<Long, Long> refs = new HashMap<>();
    /** Folio head pfn -> who holds the first reference found, for messages. */
    private final Map<Long, String> firstHolder = new HashMap<>();
    private final List<Violation> out = new ArrayList<>();
    private Process proc;

    private PageRefAudit(Kernel k) {
        this.k = k;
        this.mem = k.alloc.memory();
    }

    static List<Violation> run(Kernel k, List<Process> processes) {
        PageRefAudit a = new PageRefAudit(k);
        Map<Shmem, Boolean> files = new IdentityHashMap<>();
        for (Process p : processes) {
            if (p.exited()) {
                continue;
            }
            a.proc = p;
            for (Vma v : p.vmas()) {
                k.walker.walk(p.mm, v.start, v.end, a, WalkOptions.UNLOCKED);
                if (v.shmem != null) {
                    files.put(v.shmem, Boolean.TRUE);
                }
            }
        }
        for (Shmem f : files.keySet()) {
            f.forEachFolio(head -> a.count(head, "the shmem page cache"));
        }
        a.compare();
        return a.out;
    }

    @Override
    public Action hugeLeaf(WalkCursor c) {
        mapped(c.level(), c.entry(), c.addr());
        return Action.CONTINUE;
    }

    @Override
    public Action pte(WalkCursor c) {
        if (k.fmt.isPresent(c.entry())) {
            mapped(Level.PTE, c.entry(), c.addr());
        }
        return Action.CONTINUE;
    }

    private void mapped(Level level, long entry, long va) {
        long pfn = k.fmt.outputAddress(level, entry) >>> k.geo.pageShift();
        if (k.isZeroPfn(pfn)) {
            return;
        }
        String where = proc + " va 0x" + Long.toHexString(va) + " (" + level + ")";
        long head = mem.compoundHead(pfn);
        PageDesc d = head < 0 ? null : mem.descOrNull(head);
        if (head < 0) {
            fail(where + " maps pfn 0x" + Long.toHexString(pfn) + ", a free frame");
        } else if (d != null && !d.poisoned()) {
            fail(where + " maps pfn 0x" + Long.toHexString(pfn) + ", a live page table");
        } else if (!mem.isMovable(head)) {
            fail(where + " maps pfn 0x" + Long.toHexString(pfn) + ", a kernel allocation (not user memory)");
        } else {
            count(head, where);
        }
    }

    private void count(long head, String holder) {
        refs.merge(head, 1L, Long::sum);
        firstHolder.putIfAbsent(head, holder);
    }

    private void compare() {
        for (Map.Entry<Long, Long> e : refs.entrySet()) {
            long head = e.getKey();
            int rc = mem.refcount(head);
            if (rc != e.getValue()) {
                fail("folio 0x" + Long.toHexString(head) + " has refcount " + rc + " but " + e.getValue()
                        + " reference(s) (first: " + firstHolder.get(head) + ")");
            }
        }
        mem.forEachMovableBlock(head -> {
            if (!refs.containsKey(head)) {
                fail("folio 0x" + Long.toHexString(head) + " (order " + mem.orderOf(head) + ", refcount " + mem.refcount(head)
                        + ") is allocated, but no mapping or page cache holds it (leaked)");
            }
        });
    }

    private void fail(String detail) {
        out.add(new Violation("page-ref", detail));
    }
}
