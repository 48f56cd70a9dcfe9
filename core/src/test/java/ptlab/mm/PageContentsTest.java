package ptlab.mm;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import ptlab.check.CheckedKernels;
import ptlab.cpu.SimCpu;
import ptlab.mmu.AccessKind;
import ptlab.mmu.CpuMmu;
import ptlab.mmu.Privilege;
import ptlab.mmu.Translation;
import ptlab.pgtable.KernelConfig;

/**
 * An emulator keeps guest memory by physical address, {@link PageContents} keeps it right:
 * random loads and stores through a CPU's {@code translatePa} (a fault goes to
 * {@link Process#touch}, the page-fault handler, and the access is retried), with forks,
 * MADV_DONTNEED, MADV_COLLAPSE, mprotect, ranges written in one call, THP and 4K pages, the huge zero
 * page, private and shared anonymous memory, and exits, against a model of what each process must read: its own stores, a fork's copy of its
 * parent's, the shared mapping's common ones, and zero everywhere else. A missing clear shows
 * a freed page's old words in a new page; a missing copy loses a store at a fork's
 * copy-on-write or at a collapse.
 */
class PageContentsTest {
    @RegisterExtension
    final CheckedKernels checked = new CheckedKernels();

    private static final long PRIV = 0x10_0000_0000L; // below every user address space limit (Sv39: 256 GiB)
    private static final long SHARED = 0x20_0000_0000L;
    private static final long PRIV_LEN = 8L << 20;
    private static final long SHARED_LEN = 4L << 20;
    private static final long HUGE = 2L << 20;
    private static final long SEED = Long.getLong("ptlab.contents.seed", 0xc0ffeeL);

    /** The emulator's guest memory: one long per 8 bytes of RAM, kept by the hook. */
    static final class GuestRam implements PageContents {
        final long[] words;
        final int wordsPerPageShift;
        final Map<String, AtomicLong> sites = new ConcurrentHashMap<>();

        /** Memory starts with garbage, as a machine's does: only what the kernel zeroes or copies may show. */
        GuestRam(long ramBytes, int pageShift) {
            words = new long[Math.toIntExact(ramBytes >>> 3)];
            java.util.Arrays.fill(words, 0xdead_beef_dead_beefL);
            wordsPerPageShift = pageShift - 3;
        }

        @Override
        public void clear(long pfn, int order, String site) {
            int from = Math.toIntExact(pfn << wordsPerPageShift);
            java.util.Arrays.fill(words, from, from + (1 << (order + wordsPerPageShift)), 0L);
            sites.computeIfAbsent("clear " + site, s -> new AtomicLong()).incrementAndGet();
        }

        @Override
        public void copy(long fromPfn, long toPfn, String site) {
            System.arraycopy(words, Math.toIntExact(fromPfn << wordsPerPageShift), words, Math.toIntExact(toPfn << wordsPerPageShift),
                    1 << wordsPerPageShift);
            sites.computeIfAbsent("copy " + site, s -> new AtomicLong()).incrementAndGet();
        }
    }

    /** A live process and what it must read: its private words, and the shared mapping's words (one map for all). */
    record Guest(Process p, Map<Long, Long> priv, Map<Long, Long> shared) {}

    /** Where the PMD maps 2 MiB (4K granules) the run has THPs; elsewhere 4K pages only (its PMD block is 32 MiB or more). */
    @org.junit.jupiter.params.ParameterizedTest
    @org.junit.jupiter.params.provider.ValueSource(strings = {"x86_64-4l", "x86_64-5l", "arm64-4k-48", "arm64-16k-47", "arm64-64k-42", "riscv-sv39"})
    void guestMemoryReadsWhatWasStoredThroughForksZapsAndCollapses(String arch) {
        new SimCpu(0).runAs(() -> randomRun(arch)); // the test thread as CPU 0, unbound again after
    }

    private void randomRun(String arch) {
        Kernel k = checked.kernel(KernelConfig.of(ptlab.arch.Architectures.byName(arch)).withRam(64L << 20));
        long page = k.geo.pageSize();
        GuestRam ram = new GuestRam(64L << 20, k.geo.pageShift());
        k.setPageContents(ram);
        CpuMmu cpu = k.mmu().attach(SimCpu.current());
        SplittableRandom r = new SplittableRandom(SEED);

        Process first = k.newProcess("g0");
        assertThat(first.mmap(PRIV, PRIV_LEN, 3, false)).isEqualTo(Errno.OK);
        assertThat(first.madvise(PRIV, PRIV_LEN / 2, Advice.HUGEPAGE)).isEqualTo(Errno.OK); // THP faults in the first half
        assertThat(first.mmap(SHARED, SHARED_LEN, 3, true)).isEqualTo(Errno.OK);
        List<Guest> guests = new ArrayList<>();
        guests.add(new Guest(first, new HashMap<>(), new HashMap<>()));
        int made = 1;
        int stores = 0;
        int loads = 0;
        for (int step = 0; step < 4000; step++) {
            if (step % 1000 == 999) {
                for (Guest g : guests) {
                    checkEveryMappedWord(k, g, ram, String.format("seed 0x%x after step %d", SEED, step));
                }
            }
            Guest g = guests.get(r.nextInt(guests.size()));
            boolean shared = r.nextInt(4) == 0;
            long base = shared ? SHARED : PRIV;
            long len = shared ? SHARED_LEN : PRIV_LEN;
            Map<Long, Long> model = shared ? g.shared() : g.priv();
            String at = String.format("%s seed 0x%x step %d %s", arch, SEED, step, g.p());
            int op = r.nextInt(100);
            if (op < 45) {
                // Half of the stores overwrite a stored word: after a fork, that is a copy-on-write.
                long va = !model.isEmpty() && r.nextBoolean() ? pickKey(model, r) : base + (r.nextLong(len) & ~7L);
                long value = r.nextLong() | 1;
                if (access(cpu, g.p(), va, true, value, ram, page, at) == value) {
                    model.put(va, value);
                    stores++;
                } // else a read-only page (mprotect below): SIGSEGV, nothing stored
            } else if (op < 80) {
                // A word stored before (mostly), or any word: never stored, it must read zero.
                long va = !model.isEmpty() && r.nextBoolean() ? pickKey(model, r) : base + (r.nextLong(len) & ~7L);
                assertThat(access(cpu, g.p(), va, false, 0, ram, page, at))
                        .as("%s: load of 0x%x", at, va).isEqualTo(model.getOrDefault(va, 0L));
                loads++;
            } else if (op < 85 && guests.size() < 4) {
                Process child = g.p().fork("g" + made++);
                guests.add(new Guest(child, new HashMap<>(g.priv()), g.shared()));
            } else if (op < 91) {
                // A zap of whole THPs (their folios go back to the allocator whole, for the next
                // THP fault to take) or of any run of pages.
                boolean whole = r.nextBoolean();
                long from = whole ? base + r.nextLong(len / HUGE) * HUGE : base + r.nextLong(len / page) * page;
                long n = whole ? HUGE / page : Math.min((base + len - from) / page, 1 + r.nextInt(700));
                assertThat(g.p().madvise(from, n * page, Advice.DONTNEED)).as(at).isEqualTo(Errno.OK);
                if (!shared) {
                    model.keySet().removeIf(va -> va >= from && va < from + n * page); // private: zero-fill on next touch
                } // shared: the page cache keeps the words
            } else if (op < 94) {
                // MAP_POPULATE-like: a range written in one call (the batched do_anonymous_page);
                // every word keeps its value, a page faulted in reads zero.
                long from = base + r.nextLong(len / page) * page;
                long n = Math.min((base + len - from) / page, 1 + r.nextInt(64));
                assertThat(g.p().touch(from, n * page, true)).as(at).isIn(Errno.OK, Errno.EFAULT); // EFAULT: it met a read-only page
            } else if (op < 97) {
                long from = base + r.nextLong(len / HUGE) * HUGE;
                g.p().madvise(from, HUGE, Advice.COLLAPSE); // success or not, every word stays
            } else if (op < 98) {
                // mprotect: a run of pages read-only (stores there fault), or the whole region
                // read-write again (a page still shared after a fork must stay copy-on-write).
                long from = base + r.nextLong(len / page) * page;
                long n = Math.min((base + len - from) / page, 1 + r.nextInt(600));
                assertThat(r.nextInt(3) == 0 ? g.p().mprotect(from, n * page, 1) : g.p().mprotect(base, len, 3)).as(at).isEqualTo(Errno.OK);
            } else if (op < 99 && guests.size() > 1) {
                guests.remove(g);
                g.p().exit();
            } else {
                long from = PRIV + r.nextLong(PRIV_LEN / HUGE) * HUGE;
                g.p().madvise(from, HUGE, r.nextBoolean() ? Advice.HUGEPAGE : Advice.NOHUGEPAGE);
            }
        }
        // Every word each live process stored, or inherited, reads back; every other word of a
        // mapped page reads zero.
        for (Guest g : guests) {
            checkEveryMappedWord(k, g, ram, "at the end");
            for (Map.Entry<Long, Long> e : new TreeMap<>(g.priv()).entrySet()) {
                assertThat(access(cpu, g.p(), e.getKey(), false, 0, ram, page, "final")).as("%s private 0x%x", g.p(), e.getKey()).isEqualTo(e.getValue());
            }
            for (Map.Entry<Long, Long> e : new TreeMap<>(g.shared()).entrySet()) {
                assertThat(access(cpu, g.p(), e.getKey(), false, 0, ram, page, "final")).as("%s shared 0x%x", g.p(), e.getKey()).isEqualTo(e.getValue());
            }
        }
        System.out.printf("PageContentsTest %s: %d stores, %d loads checked, %d processes; hook calls %s%n", arch, stores, loads, made, new TreeMap<>(ram.sites));
        assertThat(ram.sites.keySet()).as("%s: every kernel path that zeroes or copies a user page ran", arch).contains(
                "clear empty_zero_page", "clear do_anonymous_page", "clear shmem_get_folio", "clear wp_page_copy", "copy wp_page_copy");
        if (k.pmdSize == HUGE) {
            assertThat(ram.sites.keySet()).as("%s: and those of THPs", arch).contains("clear huge_zero_folio", "clear folio_zero_user",
                    "copy __collapse_huge_page_copy", "clear __collapse_huge_page_copy", "copy collapse_file");
        }
        cpu.leave();
        for (Guest g : guests) {
            g.p().exit();
        }
        assertThat(k.mmu().audit()).isEmpty();
    }

    /**
     * A hook registered after the huge zero page was mapped hears of both zero pages at once:
     * loads through the read-only mappings that share them read zero, whatever the program's
     * memory held before.
     */
    @Test
    void aHookRegisteredLateHearsOfTheZeroPagesAlreadyMapped() {
        new SimCpu(0).runAs(this::lateHook);
    }

    private void lateHook() {
        Kernel k = checked.kernel(KernelConfig.defaults().withRam(64L << 20));
        long page = k.geo.pageSize();
        Process p = k.newProcess("late");
        assertThat(p.mmap(PRIV, PRIV_LEN, 3, false)).isEqualTo(Errno.OK);
        assertThat(p.madvise(PRIV, HUGE, Advice.HUGEPAGE)).isEqualTo(Errno.OK);
        assertThat(p.touch(PRIV, HUGE, false)).isEqualTo(Errno.OK); // the huge zero page
        assertThat(p.touch(PRIV + HUGE, page, false)).isEqualTo(Errno.OK); // empty_zero_page
        GuestRam ram = new GuestRam(64L << 20, k.geo.pageShift());
        k.setPageContents(ram);
        CpuMmu cpu = k.mmu().attach(SimCpu.current());
        for (long va : new long[] {PRIV, PRIV + HUGE - 8, PRIV + HUGE, PRIV + HUGE + page - 8}) {
            assertThat(access(cpu, p, va, false, 0, ram, page, "late")).as("0x%x", va).isZero();
        }
        assertThat(ram.sites.keySet()).containsExactlyInAnyOrder("clear empty_zero_page", "clear huge_zero_folio");
        cpu.leave();
        p.exit();
    }

    /**
     * One 8-byte load or store as an emulator does it: translate, and on a fault run the
     * page-fault handler ({@code touch}, which maps the page or breaks COW) and try again.
     * Returns the word; {@code ~value} for a store the handler refuses (a read-only mapping).
     */
    static long access(CpuMmu cpu, Process p, long va, boolean write, long value, GuestRam ram, long page, String at) {
        cpu.switchMm(p.mm());
        AccessKind kind = write ? AccessKind.WRITE : AccessKind.READ;
        long pa;
        int faults = 0;
        // As the hardware retries a faulting access: another thread may change the tables
        // between the handler and the retry (a collapse clears the PMD while it copies), and the
        // access faults again.
        while (Translation.isFault(pa = cpu.translatePa(va, kind, Privilege.USER))) {
            Errno e = p.touch(va & -page, page, write);
            if (e == Errno.EFAULT && write && !p.vmaAt(va).has(Vma.WRITE)) {
                return ~value; // a store to a read-only mapping: the guest's SIGSEGV
            }
            assertThat(e).as("%s: fault at 0x%x (%s)", at, va, Translation.faultOf(pa)).isEqualTo(Errno.OK);
            assertThat(++faults).as("%s: 0x%x still faults: %s", at, va, Translation.faultOf(pa)).isLessThan(1000);
        }
        int w = Math.toIntExact(pa >>> 3);
        if (write) {
            ram.words[w] = value;
        }
        return ram.words[w];
    }

    /** {@link #checkMappedWords} over both regions of {@code g}. */
    private static void checkEveryMappedWord(Kernel k, Guest g, GuestRam ram, String when) {
        checkMappedWords(k, g.p(), ram, PRIV, PRIV_LEN, g.priv(), true, when);
        checkMappedWords(k, g.p(), ram, SHARED, SHARED_LEN, g.shared(), false, when);
    }

    /**
     * Every word of every page {@code p} maps in [{@code from}, {@code from + len}), read from
     * the guest memory at the pa the tables give (no fault, no TLB): what {@code model} says,
     * zero where it says nothing, so a page that kept a freed page's words shows wherever they
     * are. With {@code mustMap} (private memory: nothing here swaps), a page holding a stored
     * word must be mapped; a shared page may be held by the page cache alone.
     */
    static void checkMappedWords(Kernel k, Process p, GuestRam ram, long from, long len, Map<Long, Long> model, boolean mustMap, String when) {
        long page = k.geo.pageSize();
        for (long va = from; va < from + len; va += page) {
            ptlab.kmap.Translation t = ptlab.kmap.Translations.translate(k.pageTables(), p.mm(), va);
            if (!(t instanceof ptlab.kmap.Translation.Mapped m)) {
                for (long w = va; mustMap && w < va + page; w += 8) {
                    assertThat(model.containsKey(w)).as("%s: %s 0x%x holds a stored word but is not mapped", when, p, w).isFalse();
                }
                continue;
            }
            int base = Math.toIntExact(m.pa() >>> 3);
            for (int i = 0; i < page / 8; i++) {
                long w = va + 8L * i;
                assertThat(ram.words[base + i]).as("%s: %s word 0x%x (pa 0x%x)", when, p, w, m.pa() + 8L * i)
                        .isEqualTo(model.getOrDefault(w, 0L));
            }
        }
    }

    private static long pickKey(Map<Long, Long> m, SplittableRandom r) {
        int n = r.nextInt(m.size());
        for (long k : m.keySet()) {
            if (n-- == 0) {
                return k;
            }
        }
        throw new IllegalStateException();
    }
}
