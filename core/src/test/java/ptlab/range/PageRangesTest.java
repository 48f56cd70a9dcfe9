package ptlab.range;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import ptlab.InvalidAddressException;
import ptlab.arch.Architecture;
import ptlab.arch.Architectures;
import ptlab.arch.Entry;
import ptlab.arch.Geometry;
import ptlab.arch.Level;
import ptlab.arch.PageProt;
import ptlab.check.CheckedKernels;
import ptlab.check.Checker;
import ptlab.pgtable.KernelConfig;
import ptlab.pgtable.Mm;
import ptlab.pgtable.MmKind;
import ptlab.pgtable.PageTables;
import ptlab.phys.OutOfMemoryException;

/** Map, protect, apply, copy and unmap on raw ranges, every architecture, every leaf size, with the checker after each step. */
class PageRangesTest {
    @RegisterExtension
    final CheckedKernels kernels = new CheckedKernels();

    static List<String> archs() {
        return RangeFixture.archs();
    }

    private PageTables tables(String arch) {
        return kernels.kernel(KernelConfig.of(Architectures.byName(arch))).pageTables();
    }

    private static void clean(PageTables pt) {
        pt.rcuBarrier(); // tables unhooked by unmap are freed after a grace period
        assertThat(Checker.check(pt)).isEmpty();
    }

    /**
     * The class Javadoc's sample, as written there (it said {@code new ViolationLog()}, which
     * does not compile), then what a hypervisor does next: a CPU translates, unmap's flush
     * reaches its TLB through the sample's listener.
     */
    @org.junit.jupiter.api.Test
    void theClassSampleRunsAsWritten() {
        new ptlab.cpu.SimCpu(0).runAs(() -> {
            PageTables pt = new PageTables(KernelConfig.defaults(), new ptlab.cpu.ViolationLog(false));
            PageRanges r = new PageRanges(pt);
            Mm mm = pt.newMm("guest", MmKind.USER);
            r.map(mm, 0x4000_0000L, 0x1_0000_0000L, 1L << 30, 2L << 20, PageProt.USER_RW);
            ptlab.mmu.Mmu mmu = new ptlab.mmu.Mmu(pt);
            r.onFlush(f -> mmu.flushRange(f.mm(), f.start(), f.end()));
            ptlab.mmu.CpuMmu cpu = mmu.attach(ptlab.cpu.SimCpu.current());
            cpu.switchMm(mm);
            assertThat(cpu.translatePa(0x4020_1234L, ptlab.mmu.AccessKind.WRITE, ptlab.mmu.Privilege.USER)).isEqualTo(0x1_0020_1234L);
            r.unmap(mm, 0x4020_0000L, 2L << 20);
            assertThat(cpu.translate(0x4020_1234L, ptlab.mmu.AccessKind.READ, ptlab.mmu.Privilege.USER))
                    .isInstanceOf(ptlab.mmu.Translation.Fault.class);
            cpu.leave();
            assertThat(mmu.audit()).isEmpty();
            r.teardown(mm);
            clean(pt);
        });
    }

    /** A long-running user (a hypervisor) must not grow a flush history without bound: the latest FLUSH_HISTORY are kept, all are counted. */
    @org.junit.jupiter.api.Test
    void theFlushHistoryKeepsTheLatestAndCountsAll() {
        PageTables pt = tables("x86_64-4l");
        PageRanges r = new PageRanges(pt);
        Mm mm = pt.newMm("guest", MmKind.USER);
        long va = 0x4000_0000L;
        r.map(mm, va, 0x1_0000_0000L, 2 * 4096, 4096, PageProt.USER_RW);
        int n = PageRanges.FLUSH_HISTORY + 5;
        for (int i = 0; i < n; i++) {
            r.protect(mm, va + (i % 2) * 4096L, 4096, i % 4 < 2 ? PageProt.USER_READ : PageProt.USER_RW);
        }
        assertThat(r.flushCount()).isEqualTo(n);
        List<FlushRequest> kept = r.flushes();
        assertThat(kept).hasSize(PageRanges.FLUSH_HISTORY);
        assertThat(kept.get(0).start()).as("oldest kept: request 5").isEqualTo(va + 4096);
        assertThat(kept.get(kept.size() - 1).start()).as("newest: request n-1").isEqualTo(va + ((n - 1) % 2) * 4096L);
        r.teardown(mm);
        clean(pt);
    }

    @ParameterizedTest
    @MethodSource("archs")
    void everyLeafSizeMapsReadsBackAndUnmapsToNothing(String arch) {
        PageTables pt = tables(arch);
        Architecture a = pt.arch();
        Geometry g = pt.geometry();
        PageRanges r = new PageRanges(pt);
        Mm mm = pt.newMm("user", MmKind.USER);
        long before = RangeFixture.tablesBelowRoot(pt);
        for (long size : RangeFixture.leafSizes(g)) {
            long va = RangeFixture.userVa(a);
            long pa = size * 3;
            r.map(mm, va, pa, 2 * size, size, PageProt.USER_RW);
            clean(pt);
            for (int i = 0; i < 2; i++) {
                Entry.Leaf leaf = RangeFixture.leafAt(pt, mm, va + i * size + (size - g.pageSize()));
                assertThat(leaf).as("%s leaf %d of size %x", arch, i, size).isNotNull();
                assertThat(leaf.size()).isEqualTo(size);
                assertThat(leaf.pa()).as("a leaf reports its base").isEqualTo(pa + i * size);
                assertThat(leaf.prot().write()).isTrue();
                assertThat(leaf.prot().user()).isTrue();
            }
            assertThat(RangeFixture.leafAt(pt, mm, va + 2 * size)).isNull();
            assertThat(r.unmap(mm, va, 2 * size)).isEqualTo(2);
            clean(pt);
            assertThat(RangeFixture.leafAt(pt, mm, va)).isNull();
            assertThat(RangeFixture.tablesBelowRoot(pt)).as("tables freed with their range").isEqualTo(before);
            assertThat(mm.pgtablesBytes()).isZero();
        }
        r.teardown(mm);
        clean(pt);
    }

    @ParameterizedTest
    @MethodSource("archs")
    void protectKeepsAddressesAndAccessedDirtyState(String arch) {
        PageTables pt = tables(arch);
        Geometry g = pt.geometry();
        PageRanges r = new PageRanges(pt);
        Mm mm = pt.newMm("user", MmKind.USER);
        long va = RangeFixture.userVa(pt.arch());
        long page = g.pageSize();
        r.map(mm, va, 0x4000_0000L, 64 * page, page, PageProt.USER_RW.withYoung(false).withDirty(false));
        // Make every other page young and dirty, as the MMU would.
        r.apply(mm, va, 64 * page, false, (addr, pte) -> ((addr - va) / page) % 2 == 0
                ? pt.format().mkDirty(pt.format().mkYoung(pte)) : pte);
        assertThat(r.protect(mm, va, 64 * page, PageProt.USER_READ)).isEqualTo(64);
        for (int i = 0; i < 64; i++) {
            Entry.Leaf l = RangeFixture.leafAt(pt, mm, va + i * page);
            assertThat(l.pa()).isEqualTo(0x4000_0000L + i * page);
            assertThat(l.prot().write()).as("page %d", i).isFalse();
            assertThat(l.prot().read()).isTrue();
            assertThat(l.prot().young()).as("young kept, page %d", i).isEqualTo(i % 2 == 0);
            assertThat(l.prot().dirty()).as("dirty kept, page %d", i).isEqualTo(i % 2 == 0);
        }
        assertThat(r.protect(mm, va, 64 * page, PageProt.USER_NONE)).isEqualTo(64);
        assertThat(RangeFixture.leafAt(pt, mm, va).prot().read()).isFalse();
        assertThat(r.flushes()).hasSize(2);
        clean(pt);
        r.teardown(mm);
    }

    @ParameterizedTest
    @MethodSource("archs")
    void applyCreatesTablesOnlyWhenAskedAndCopyCountsTheChildsOwnTables(String arch) {
        PageTables pt = tables(arch);
        Geometry g = pt.geometry();
        PageRanges r = new PageRanges(pt);
        Mm parent = pt.newMm("parent", MmKind.USER);
        Mm child = pt.newMm("child", MmKind.USER);
        long va = RangeFixture.userVa(pt.arch());
        long page = g.pageSize();
        long pmd = g.entrySize(g.holder(Level.PMD));
        assertThat(r.apply(parent, va, 4 * page, false, (a, e) -> e + 1)).as("nothing exists yet").isZero();
        assertThat(parent.pgtablesBytes()).isZero();
        assertThat(r.apply(parent, va, 4 * page, true, (a, e) -> e)).isEqualTo(4);
        assertThat(parent.pgtablesBytes()).as("apply_to_page_range installed tables").isPositive();
        r.unmap(parent, va, 4 * page);
        r.map(parent, va, 0x1000_0000L, pmd + 8 * page, page, PageProt.USER_RW);
        long copied = r.copy(parent, child, va, pmd + 8 * page, true);
        assertThat(copied).isEqualTo(pmd / page + 8);
        assertThat(child.pgtablesBytes()).as("the child allocates and counts its own tables").isEqualTo(parent.pgtablesBytes());
        assertThat(RangeFixture.leafAt(pt, parent, va).prot().write()).as("COW write-protects the parent").isFalse();
        assertThat(RangeFixture.leafAt(pt, child, va).pa()).isEqualTo(0x1000_0000L);
        assertThatThrownBy(() -> r.copy(parent, child, va, page, false)).isInstanceOf(RangeConflictException.class);
        clean(pt);
        r.teardown(child);
        r.teardown(parent);
        assertThat(child.pgtablesBytes()).isZero();
        assertThat(parent.pgtablesBytes()).isZero();
        clean(pt);
    }

    @ParameterizedTest
    @MethodSource("archs")
    void badInputIsTypedAndLeavesNoTrace(String arch) {
        PageTables pt = tables(arch);
        Architecture a = pt.arch();
        Geometry g = pt.geometry();
        PageRanges r = new PageRanges(pt);
        Mm mm = pt.newMm("user", MmKind.USER);
        long page = g.pageSize();
        long va = RangeFixture.userVa(a);
        List<Long> sizes = RangeFixture.leafSizes(g);
        long huge = sizes.get(1);
        r.map(mm, va, 0, huge, huge, PageProt.USER_RW);
        long tables = pt.stats().nrPagetable();
        long frames = pt.allocator().allocatedFrames();
        long bytes = mm.pgtablesBytes();
        Runnable same = () -> {
            assertThat(pt.stats().nrPagetable()).isEqualTo(tables);
            assertThat(pt.allocator().allocatedFrames()).isEqualTo(frames);
            assertThat(mm.pgtablesBytes()).isEqualTo(bytes);
            clean(pt);
        };
        long far = va + 8 * huge;
        assertThatThrownBy(() -> r.map(mm, far + 1, 0, page, page, PageProt.USER_RW))
                .isInstanceOf(InvalidAddressException.class).hasMessageContaining("not aligned");
        assertThatThrownBy(() -> r.map(mm, far, page / 2, page, page, PageProt.USER_RW))
                .isInstanceOf(InvalidAddressException.class).hasMessageContaining("physical address");
        assertThatThrownBy(() -> r.map(mm, far, 0, huge, huge * 2 + page, PageProt.USER_RW))
                .isInstanceOf(UnsupportedLeafSizeException.class).hasMessageContaining(a.name());
        long unsupported = 1L << (g.pageShift() + 1); // twice the page: no architecture maps that
        assertThatThrownBy(() -> r.map(mm, far, 0, unsupported, unsupported, PageProt.USER_RW))
                .isInstanceOf(UnsupportedLeafSizeException.class).hasMessageContaining("leaf sizes: ");
        long nonCanonical = a.userTop();
        assertThatThrownBy(() -> r.map(mm, nonCanonical, 0, page, page, PageProt.USER_RW))
                .isInstanceOf(InvalidAddressException.class);
        assertThatThrownBy(() -> r.map(mm, a.userTop() - page, 0, 2 * page, page, PageProt.USER_RW))
                .isInstanceOf(InvalidAddressException.class);
        assertThatThrownBy(() -> r.map(mm, RangeFixture.kernelVa(a), 0, page, page, PageProt.USER_RW))
                .isInstanceOf(InvalidAddressException.class).hasMessageContaining("kernel half");
        assertThatThrownBy(() -> r.map(pt.initMm(), va, 0, page, page, PageProt.KERNEL_RW))
                .isInstanceOf(InvalidAddressException.class).hasMessageContaining("user half");
        assertThatThrownBy(() -> r.map(mm, -page, 0, 2 * page, page, PageProt.USER_RW))
                .isInstanceOf(InvalidAddressException.class);
        assertThatThrownBy(() -> r.map(mm, far, 0, 0, page, PageProt.USER_RW))
                .isInstanceOf(InvalidAddressException.class).hasMessageContaining("empty");
        assertThatThrownBy(() -> r.map(mm, va + huge - page, 0, 2 * page, page, PageProt.USER_RW))
                .isInstanceOf(RangeConflictException.class).hasMessageContaining("already mapped");
        assertThatThrownBy(() -> r.unmap(mm, va + page, page))
                .isInstanceOf(RangeConflictException.class).hasMessageContaining("cuts the");
        assertThatThrownBy(() -> r.protect(mm, va, huge - page, PageProt.USER_READ))
                .isInstanceOf(RangeConflictException.class);
        same.run();
        r.teardown(mm);
        clean(pt);
    }

    @ParameterizedTest
    @MethodSource("archs")
    void allocationFailureInTheMiddleOfAMapRollsBack(String arch) {
        PageTables pt = tables(arch);
        Geometry g = pt.geometry();
        PageRanges r = new PageRanges(pt);
        Mm mm = pt.newMm("user", MmKind.USER);
        long page = g.pageSize();
        long pmd = g.entrySize(g.holder(Level.PMD));
        long va = RangeFixture.userVa(pt.arch());
        long len = 3 * pmd;
        for (int n = 1; ; n++) {
            long tables = pt.stats().nrPagetable();
            long frames = pt.allocator().allocatedFrames();
            pt.allocator().faultInjector().failNth(n);
            try {
                r.map(mm, va, 0, len, page, PageProt.USER_RW);
            } catch (OutOfMemoryException e) {
                pt.rcuBarrier();
                assertThat(pt.stats().nrPagetable()).as("allocation %d failed: rolled back", n).isEqualTo(tables);
                assertThat(pt.allocator().allocatedFrames()).isEqualTo(frames);
                assertThat(mm.pgtablesBytes()).isZero();
                assertThat(RangeFixture.leafAt(pt, mm, va)).isNull();
                clean(pt);
                continue;
            } finally {
                pt.allocator().faultInjector().reset();
            }
            assertThat(n).as("some allocation failed before the map went through").isGreaterThan(1);
            break;
        }
        assertThat(RangeFixture.leafAt(pt, mm, va + len - page)).isNotNull();
        r.teardown(mm);
        clean(pt);
    }
}
