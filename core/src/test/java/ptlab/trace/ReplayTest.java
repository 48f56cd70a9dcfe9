package ptlab.trace;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.StringReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import ptlab.check.CheckedKernels;
import ptlab.check.Checker;
import ptlab.mm.Advice;
import ptlab.mm.Errno;
import ptlab.mm.Kernel;
import ptlab.mm.Process;
import ptlab.pgtable.KernelConfig;
import ptlab.pgtable.VmSettings;

class ReplayTest {
    @RegisterExtension
    final CheckedKernels kernels = new CheckedKernels();

    private static Path shared() {
        Path p = Path.of("").toAbsolutePath();
        while (p != null && !Files.exists(p.resolve(".ci"))) {
            p = p.getParent();
        }
        return p == null ? null : p.resolveSibling("shared");
    }

    private List<String> replay(String text) throws Exception {
        Replayer r = new Replayer(KernelConfig.defaults());
        List<String> out = r.run(TraceParser.parse("t", new StringReader(text)));
        r.finish();
        assertThat(Checker.check(r.kernel().pageTables())).isEmpty();
        assertThat(r.kernel().pageTables().stats().nrPagetable()).as("only PGD-less state is left").isZero();
        return out;
    }

    /**
     * The shared traces and the outputs recorded on the kernel, copied into test resources so the
     * test runs on any clone; when ../shared is beside the repository, its copies must still agree.
     */
    @Test
    void sharedTracesMatchTheKernelsRecordedOutput() throws Exception {
        for (String name : List.of("tour", "thp-edge")) {
            String trace = resource("/ptlab/traces/" + name + ".trace");
            List<String> expected = resource("/ptlab/traces/" + name + ".expected").lines().collect(java.util.stream.Collectors.toList());
            assertThat(replay(trace)).as(name).containsExactlyElementsOf(expected);
            Path s = shared();
            if (s != null && Files.isDirectory(s.resolve("tools/traces"))) {
                assertThat(Files.readString(s.resolve("tools/traces/" + name + ".trace"))).as("shared copy of " + name).isEqualTo(trace);
            }
        }
    }

    private static String resource(String name) throws Exception {
        try (var in = ReplayTest.class.getResourceAsStream(name)) {
            assertThat(in).as(name).isNotNull();
            return new String(in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        }
    }

    @Test
    void rangesOutsideTheUserAddressSpaceAreBadInput() throws Exception {
        Replayer r = new Replayer(KernelConfig.defaults(), "x.trace");
        long before = r.kernel().pageTables().stats().nrPagetable();
        List<TraceOp> ops = TraceParser.parse("x.trace", new StringReader("mmap 0x100000000000 4M\ntouch 0x100000000000 8K\nmunmap 0x7ffffffff000 8K\n"));
        assertThatThrownBy(() -> r.run(ops)).isInstanceOf(TraceSyntaxException.class)
                .hasMessage("x.trace:3: range 0x7ffffffff000 + 0x2000 is outside the user address space (TASK_SIZE 0x7ffffffff000)");
        assertThat(r.kernel().pageTables().stats().nrPagetable()).as("nothing was replayed").isEqualTo(before);
        assertThatThrownBy(() -> r.run(TraceParser.parse("y.trace", new StringReader("mmap 0x7fffffe00000 4M\n"))))
                .hasMessageStartingWith("x.trace:1: range 0x7fffffe00000 + 0x400000 is outside");
        r.finish();
        assertThat(Checker.check(r.kernel().pageTables())).isEmpty();
    }

    @Test
    void failedCallsPrintErrnoAndReplayGoesOn() throws Exception {
        List<String> out = replay("mmap 0x100000000000 4M\nmmap 0x100000100000 1M\nmprotect 0x100000000000 8M r\n"
                + "touch 0x100000000000 8K\nmadvise 0x100000000000 8M dontneed\ntouch 0x100000000000 8M\nmunmap 0x100000000000 4M\n");
        // Recorded with ktrace on this machine: the first VMA turns read-only before the hole gives ENOMEM.
        assertThat(out).containsExactly("1 0", "2 0 err=17", "3 0 err=12", "4 0 err=14", "5 0 err=12", "6 0 err=14", "7 0");
    }

    @Test
    void badInputNamesFileAndLine() {
        parseFails("mmap 0x1000 4K\nfrobnicate 1 2\n", "x.trace:2: unknown operation 'frobnicate' (mmap, touch, munmap, mprotect, madvise, fork)");
        assertThatThrownBy(() -> TraceParser.parse("x.trace", new StringReader("touch 0x1000\n")))
                .hasMessageStartingWith("x.trace:1: touch: missing argument");
        parseFails("munmap 0x10zz 4K\n", "x.trace:1: bad address '0x10zz'");
        parseFails("\n\nmunmap 0x1001 4K\n", "x.trace:3: address 0x1001 is not aligned to a 4 KiB page");
        // An unknown word after a protection is a bad word, not a second protection.
        parseFails("mmap 0x1000 4K rw bogus\n", "x.trace:1: bad protection 'bogus' (none, or letters r, w, x)");
        parseFails("mmap 0x1000 4K shared rw bogus\n", "x.trace:1: bad protection 'bogus' (none, or letters r, w, x)");
        parseFails("mmap 0x1000 4K rw r\n", "x.trace:1: 'r' conflicts with an earlier word of the same kind");
    }

    /** Parsing {@code text} as x.trace fails with exactly {@code message}. */
    private static void parseFails(String text, String message) {
        assertThatThrownBy(() -> TraceParser.parse("x.trace", new StringReader(text)))
                .isInstanceOf(TraceSyntaxException.class).hasMessage(message);
    }

    @Test
    void readmeSampleHolds() {
        Kernel k = kernels.kernel(KernelConfig.defaults());
        Process p = k.newProcess("demo");
        assertThat(p.mmap(0x100000000000L, 64L << 20, 3, false)).isEqualTo(Errno.OK);
        assertThat(p.touch(0x100000000000L, 64L << 20, true)).isEqualTo(Errno.OK);
        assertThat(p.vmPteBytes() >> 10).isEqualTo(136);
        p.madvise(0x100000000000L, 2L << 20, Advice.DONTNEED);
        assertThat(p.vmPteBytes() >> 10).isEqualTo(132);
        assertThat(Checker.check(k.pageTables())).isEmpty();
    }

    @Test
    void allocationFailureInAFaultLeavesConsistentState() {
        Kernel k = kernels.kernel(KernelConfig.defaults());
        Process p = k.newProcess("oom");
        p.mmap(0x100000000000L, 8L << 20, 3, false);
        // Sweep the Nth allocation over a fault-in of 8 MiB: each failure is ENOMEM, nothing leaks.
        for (int n = 1; n < 12; n++) {
            k.pageTables().allocator().faultInjector().failNth(n);
            Errno e = p.touch(0x100000000000L, 8L << 20, true);
            k.pageTables().allocator().faultInjector().reset();
            assertThat(e).isIn(Errno.OK, Errno.ENOMEM);
            assertThat(Checker.check(k.pageTables())).as("after failing allocation %d", n).isEmpty();
            p.munmap(0x100000000000L, 8L << 20);
            p.mmap(0x100000000000L, 8L << 20, 3, false);
        }
        p.exit();
        assertThat(k.pageTables().stats().nrPagetable()).isZero();
    }

    /**
     * fork's ENOMEM at every allocation it makes (PGD, tables at each level, THP deposits): a
     * typed exception, and the half-built child torn down, so that the tables, the frames and
     * the parent's page references are what they were, and a later fork succeeds.
     */
    @Test
    void allocationFailureInForkTearsDownTheChild() {
        Kernel k = kernels.kernel(KernelConfig.defaults());
        Process p = k.newProcess("parent");
        long base = 0x100000000000L;
        p.mmap(base, 8L << 20, 3, false);
        p.touch(base, 6L << 20, true);
        p.mmap(base + (1L << 30), 4L << 20, 3, false);
        p.madvise(base + (1L << 30), 4L << 20, Advice.HUGEPAGE);
        p.touch(base + (1L << 30), 4L << 20, true); // two THP leaves: two deposits to copy
        p.mmap(base + (2L << 30), 2L << 20, 3, true);
        p.touch(base + (2L << 30), 2L << 20, true);
        var alloc = k.pageTables().allocator();
        alloc.faultInjector().failSite("(none: armed to count)"); // allocations are counted while armed
        long seen = alloc.faultInjector().allocationsSeen();
        Process probe = p.fork("probe");
        long forkAllocs = alloc.faultInjector().allocationsSeen() - seen;
        alloc.faultInjector().reset();
        long childVmPte = probe.vmPteBytes();
        probe.exit();
        assertThat(forkAllocs).as("allocations of one fork").isGreaterThan(5);
        long frames = alloc.allocatedFrames();
        long tables = k.pageTables().stats().nrPagetable();
        long vmPte = p.vmPteBytes();
        for (int n = 1; n <= forkAllocs; n++) {
            alloc.faultInjector().failNth(n);
            int nth = n;
            assertThatThrownBy(() -> p.fork("child" + nth)).isInstanceOf(ptlab.phys.OutOfMemoryException.class);
            alloc.faultInjector().reset();
            assertThat(Checker.checkDrained(k.pageTables())).as("after failing allocation %d of fork", n).isEmpty();
            assertThat(alloc.allocatedFrames()).as("frames after failing allocation %d", n).isEqualTo(frames);
            assertThat(k.pageTables().stats().nrPagetable()).as("NR_PAGETABLE after failing allocation %d", n).isEqualTo(tables);
            assertThat(p.vmPteBytes()).isEqualTo(vmPte);
        }
        Process child = p.fork("last");
        assertThat(child.vmPteBytes()).as("as the fork before the failures").isEqualTo(childVmPte);
        child.exit();
        p.exit();
        assertThat(k.pageTables().stats().nrPagetable()).isZero();
    }

    private List<String> replay(KernelConfig config, String text) throws Exception {
        Replayer r = new Replayer(config);
        List<String> out = r.run(TraceParser.parse("t", new StringReader(text)));
        r.finish();
        assertThat(Checker.check(r.kernel().pageTables())).isEmpty();
        return out;
    }

    /**
     * The machine settings outside the page tables, each against what this machine's kernel
     * printed for the same trace (ktrace, vm.mmap_min_addr 4096, a CPU with pku): mmap_min_addr,
     * the execute-only pkey, and a zero-length range at TASK_SIZE.
     */
    @Test
    void machineSettingsAsTheKernelHasThem() throws Exception {
        // Line 3 as an unprivileged process gets it; root has CAP_SYS_RAWIO and may map page 0.
        assertThat(replay("mmap 0x1000 4K\ntouch 0x1000 4K\nmmap 0x0 4K\n")).containsExactly("1 0", "2 12", "3 12 err=1");
        assertThat(replay(KernelConfig.defaults().withVm(VmSettings.DEFAULTS.withMmapMinAddr(65536)), "mmap 0x1000 4K\n"))
                .containsExactly("1 0 err=1");
        String execOnly = "mmap 0x100000000000 2M x\ntouch 0x100000000000 4K read\nmmap 0x100000200000 2M\n"
                + "touch 0x100000200000 4K\nmprotect 0x100000200000 2M x\ntouch 0x100000201000 4K read\n"
                + "mprotect 0x100000200000 2M rx\ntouch 0x100000201000 4K read\n";
        assertThat(replay(execOnly)).containsExactly("1 0", "2 0 err=14", "3 0", "4 12", "5 12", "6 12 err=14", "7 12", "8 12");
        assertThat(replay(KernelConfig.defaults().withVm(VmSettings.DEFAULTS.withX86Pku(false)), execOnly))
                .as("without PKU x86 reads what it can execute").containsExactly("1 0", "2 12", "3 12", "4 16", "5 16", "6 16", "7 16", "8 16");
        assertThat(replay("madvise 0x7ffffffff000 0 dontneed\nmprotect 0x7ffffffff000 0 r\nmunmap 0x7ffffffff000 0\n"))
                .containsExactly("1 0", "2 0", "3 0 err=22");
    }

    /**
     * vm.max_map_count, with a limit of 4 VMAs: mmap fails once the count is above it, a split
     * by mprotect or madvise at it, munmap only when it punches a hole inside one VMA.
     */
    @Test
    void maxMapCountLimitsSplitsAndMaps() throws Exception {
        KernelConfig c = KernelConfig.defaults().withVm(VmSettings.DEFAULTS.withMaxMapCount(4));
        String t = "mmap 0x100000000000 64K\n"
                + "mprotect 0x100000001000 4K r\n"       // 3 VMAs
                + "mprotect 0x100000003000 4K r\n"       // needs 2 splits: the first makes 4, the second fails
                + "mprotect 0x100000005000 4K r\n"       // at 4: the first split fails
                + "madvise 0x100000008000 4K hugepage\n" // at 4: fails
                + "munmap 0x100000009000 4K\n"           // a hole inside one VMA at 4: fails
                + "munmap 0x100000003000 4K\n"           // the start of a VMA: one split, allowed at the limit
                + "mmap 0x100000100000 4K\n"             // count 4, not above the limit: allowed, now 5
                + "mmap 0x100000200000 4K\n";            // 5 > 4: fails
        assertThat(replay(c, t)).containsExactly("1 0", "2 0", "3 0 err=12", "4 0 err=12", "5 0 err=12", "6 0 err=12", "7 0", "8 0",
                "9 0 err=12");
    }

    /**
     * The overcommit guess (vm.overcommit_memory = 0): one charge of more than RAM fails with
     * ENOMEM, at mmap of a private writable or any shared mapping, at mprotect that makes a
     * private one writable, and at fork for each VM_ACCOUNT VMA (two merged 16G mappings).
     * Expected lines: ktrace on this machine (24 GiB); ptlab with 16 GiB gives the same.
     */
    @Test
    void overcommitGuessRefusesChargesLargerThanRam() throws Exception {
        KernelConfig c = KernelConfig.defaults().withRam(16L << 30);
        String t = "mmap 0x100000000000 32G\nmmap 0x100000000000 32G r\ntouch 0x100000000000 4K read\n"
                + "mprotect 0x100000000000 32G rw\ntouch 0x100000000000 4K\nmunmap 0x100000000000 32G\n"
                + "mmap 0x100000000000 32G r shared\nmmap 0x100000000000 16G\nmmap 0x100400000000 16G\n"
                + "touch 0x100000000000 4K\nmunmap 0x100400000000 16G\nfork\n";
        assertThat(replay(c, t)).containsExactly("1 0 err=12", "2 0", "3 12", "4 12 err=12", "5 12 err=14", "6 0", "7 0 err=12", "8 0",
                "9 0", "10 12", "11 12", "12 12 fork");
        // The merged 32G VMA: the kernel driver hangs on the failed fork; ptlab reports fork's ENOMEM.
        assertThat(replay(c, "mmap 0x100000000000 16G\nmmap 0x100400000000 16G\ntouch 0x100000000000 4K\nfork\n"))
                .containsExactly("1 0", "2 0", "3 12", "4 0 fork err=12");
    }

    @Test
    void parserMessagesStayOneReadableLineAndEmbeddedLinesDropComments() {
        String word = "x".repeat(100_000);
        assertThatThrownBy(() -> TraceParser.parse("t", new StringReader(word + " 1 2\n")))
                .hasMessage("t:1: unknown operation 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...' (100000 characters) (mmap, touch, munmap, mprotect, madvise, fork)");
        assertThat(TraceParser.parseLine("s", 3, "mmap 0x1000 4096 # a comment")).isEqualTo(new TraceOp.Mmap(3, 0x1000, 4096, 3, false, 0));
        assertThatThrownBy(() -> TraceParser.parseLine("s", 3, "mmap 0x1000 4096\u0000")).hasMessage("s:3: character U+0000 at column 17");
    }

    /**
     * The order of do_mprotect_pkey's and do_mmap's checks, as the kernel answered a review's
     * probes: a zero length wins over bad PROT bits, no VMA over a grows bit, the map count over
     * mmap_min_addr; and at the map-count limit a change that merges into a neighbour still works.
     */
    @Test
    void errnoOrderAndMergesAtTheMapCountLimit() {
        Kernel k = kernels.kernel(KernelConfig.defaults().withVm(VmSettings.DEFAULTS.withMaxMapCount(4)));
        Process p = k.newProcess("p");
        long a = 0x100000000000L;
        int growsDown = 0x01000000;
        int growsUp = 0x02000000;
        assertThat(p.mprotect(a, 0, 0x10)).isEqualTo(Errno.OK);
        assertThat(p.mprotect(a, 0, growsDown | 1)).isEqualTo(Errno.OK);
        assertThat(p.mprotect(a, 4096, growsDown | 1)).as("no VMA").isEqualTo(Errno.ENOMEM);
        assertThat(p.mprotect(-8192L, 16384, 0x10)).as("the range wraps").isEqualTo(Errno.ENOMEM);
        assertThat(p.mprotect(a, 4096, growsDown | growsUp | 1)).isEqualTo(Errno.EINVAL);
        assertThat(p.mmap(a, 8192, 3, false)).isEqualTo(Errno.OK);       // A rw
        assertThat(p.mmap(a + 8192, 8192, 1, false)).isEqualTo(Errno.OK); // B r: 2 VMAs
        assertThat(p.mprotect(a, 4096, growsDown | 1)).as("a VMA without VM_GROWSDOWN").isEqualTo(Errno.EINVAL);
        assertThat(p.mmap(a + (1L << 20), 4096, 1, false)).isEqualTo(Errno.OK);
        assertThat(p.mmap(a + (2L << 20), 4096, 1, false)).isEqualTo(Errno.OK); // 4 VMAs: at the limit
        assertThat(p.mprotect(a + 8192, 4096, 3)).as("B's first page joins A: no new VMA").isEqualTo(Errno.OK);
        assertThat(p.mmap(a + (3L << 20), 4096, 1, false)).isEqualTo(Errno.OK); // 4, not above: allowed, now 5
        assertThat(p.mmap(0, 4096, 1, false)).as("map count before mmap_min_addr").isEqualTo(Errno.ENOMEM);
        p.exit();
    }

    /** The overcommit limit is totalram + swap in bytes when given (HostMachine gives MemTotal + SwapTotal), not RAM rounded to 4 MiB. */
    @Test
    void overcommitLimitIsExact() {
        long limit = (1L << 30) + (123L << 12);
        Kernel k = kernels.kernel(KernelConfig.defaults().withRam(1L << 30).withVm(VmSettings.DEFAULTS.withCommitLimitBytes(limit)));
        Process p = k.newProcess("p");
        assertThat(p.mmap(0x100000000000L, limit, 3, false)).isEqualTo(Errno.OK);
        assertThat(p.mmap(0x200000000000L, limit + 4096, 3, false)).isEqualTo(Errno.ENOMEM);
        p.exit();
    }
}
